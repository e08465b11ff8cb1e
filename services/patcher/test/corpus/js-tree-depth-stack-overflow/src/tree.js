function depth(node) {
  if (!node) return 0;
  return 1 + Math.max(...node.children.map(depth));
}

module.exports = { depth };
