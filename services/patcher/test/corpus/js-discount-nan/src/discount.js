function applyDiscount(price, percentText) {
  const percent = parseFloat(percentText);
  const discounted = price * (1 - percent / 100);
  return BigInt(Math.round(discounted));
}

module.exports = { applyDiscount };
