const rates = new Map([['EUR', { rate: 1.1 }]]);

function convert(amount, rate) {
  return Math.round(amount * rate.rate * 100) / 100;
}

function invoiceTotal(amount, currency) {
  const rate = rates.get(currency);
  return convert(amount, rate);
}

module.exports = { invoiceTotal };
