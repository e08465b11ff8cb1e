function dueIn(days, from) {
  const start = new Date(from);
  const due = new Date(start.getTime() + days * 86400000);
  if (Number.isNaN(due.getTime())) throw new Error(`expected a due date, got ${due}`);
  return due;
}

module.exports = { dueIn };
