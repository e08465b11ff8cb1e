#!/usr/bin/env bash
# Regenerates package-lock.json from the package.json files alone. npm writes a lock file that
# omits other platforms' optional dependencies (e.g. @unrs/resolver-binding-*) when it updates an
# existing node_modules, and `npm ci` on a fresh clone then refuses it as out of sync; resolving
# without a node_modules records every platform's entries. Only files git tracks count: the lock
# must match what a fresh clone holds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
git ls-files --cached -- '*package.json' | while read -r file; do
  mkdir -p "$work/$(dirname "$file")"
  cp "$file" "$work/$file"
done
(cd "$work" && npm install --package-lock-only --no-audit --no-fund --loglevel=error)
cp "$work/package-lock.json" "$root/package-lock.json"
echo "package-lock.json regenerated"
