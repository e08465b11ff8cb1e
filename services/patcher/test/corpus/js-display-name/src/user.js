function displayName(user) {
  return user.profile.name;
}

module.exports = { displayName };
