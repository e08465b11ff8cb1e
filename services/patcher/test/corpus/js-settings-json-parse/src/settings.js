function readSettings(raw) {
  const settings = JSON.parse(raw);
  return { theme: 'light', ...settings };
}

module.exports = { readSettings };
