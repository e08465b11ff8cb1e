function slug(title) {
  return title.toLowerCase().replace(/\s+/g, '-');
}

module.exports = { slug };
