function greet({ name = 'there' }) {
  return `Hello, ${name}`;
}

module.exports = { greet };
