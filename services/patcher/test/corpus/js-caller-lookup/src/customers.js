const customers = [{ id: 'c1', email: 'a@example.com' }];

function emailDomain(customer) {
  return customer.email.split('@')[1];
}

function domainFor(id) {
  const customer = customers.find((c) => c.id === id);
  return emailDomain(customer);
}

module.exports = { domainFor };
