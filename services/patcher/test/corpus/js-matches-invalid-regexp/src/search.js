function matches(pattern, text) {
  const re = new RegExp(pattern);
  return re.test(text);
}

module.exports = { matches };
