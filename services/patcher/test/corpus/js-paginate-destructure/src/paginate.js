function paginate(items, options) {
  const { limit, offset } = options;
  const start = offset || 0;
  return items.slice(start, start + (limit || 10));
}

module.exports = { paginate };
