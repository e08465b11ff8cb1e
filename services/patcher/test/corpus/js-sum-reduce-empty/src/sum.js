function sum(values) {
  return values.reduce((a, b) => a + b);
}

module.exports = { sum };
