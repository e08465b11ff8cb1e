async function loadUser(id) {
  return { id, roles: ['admin'] };
}

async function isAdmin(id) {
  const user = loadUser(id);
  return user.roles.includes('admin');
}

module.exports = { isAdmin };
