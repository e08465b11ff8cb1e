async function saveAudit(entry) {
  if (!entry.user) throw new Error('audit entry without user');
  return true;
}

async function handle(req) {
  try {
    saveAudit({ user: req.user });
  } catch {
    return 'audit failed';
  }
  return 'ok';
}

module.exports = { handle };
