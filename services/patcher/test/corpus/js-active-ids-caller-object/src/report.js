function activeIds(users) {
  return users.filter((u) => u.active).map((u) => u.id);
}

function report(db) {
  return activeIds(db.users);
}

module.exports = { report };
