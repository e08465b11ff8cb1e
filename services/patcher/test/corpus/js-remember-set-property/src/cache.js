function remember(cache, key, value) {
  cache.entries[key] = value;
  return cache;
}

module.exports = { remember };
