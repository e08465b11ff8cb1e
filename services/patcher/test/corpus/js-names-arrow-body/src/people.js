function firstNames(people) {
  return people.map((p) => p.name.first);
}

module.exports = { firstNames };
