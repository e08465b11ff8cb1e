function countWords(lines) {
  let n = 0;
  for (const line of lines) {
    n += line.split(' ').length;
  }
  return n;
}

module.exports = { countWords };
