function allTags(groups) {
  const result = [];
  for (const g of groups) {
    result.push(...g.tags);
  }
  return result;
}

module.exports = { allTags };
