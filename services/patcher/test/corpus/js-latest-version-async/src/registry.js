async function latestVersion(registry, name) {
  const pkg = await registry.lookup(name);
  return pkg.versions[pkg.versions.length - 1];
}

module.exports = { latestVersion };
