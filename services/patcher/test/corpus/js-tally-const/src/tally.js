function tally(votes) {
  const total = 0;
  for (const v of votes) {
    total += v;
  }
  return total;
}

module.exports = { tally };
