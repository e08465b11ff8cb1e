#!/usr/bin/env bash
# Makes a copy of an example application under examples/ into a fresh git repository with a short,
# real history (the commits listed in examples/<name>/harness/history; the latent bugs arrive in
# one of them), and prints the HEAD commit on stdout — nothing else goes to stdout. The demo and the
# end-to-end specs use it to create the repository of a service under care.
#
#   tools/materialise-example.sh <example> <target-dir> [--link-deps]
#
# <target-dir> must not exist or be empty. harness/ (Antibody's own specs about the example),
# project.json (Antibody's Nx metadata), dist/ and node_modules/ are not copied. With --link-deps, <target-dir>/node_modules becomes a
# symlink to Antibody's own node_modules (git-ignored, not committed), so the application's
# `npm test` runs without a registry; without it, run the application's `npm install` yourself.
# Commits have fixed authors and dates, so the same example always gives the same commit ids.
# Exit codes: 2 bad usage or a history that does not list every file exactly once; 1 other failures.
set -euo pipefail

usage() { echo "usage: tools/materialise-example.sh <example> <target-dir> [--link-deps]" >&2; exit 2; }
fail() { echo "materialise-example: $1" >&2; exit "${2:-1}"; }

[[ $# -ge 2 && $# -le 3 ]] || usage
example="$1"
target="$2"
link_deps=false
if [[ $# -eq 3 ]]; then [[ "$3" == "--link-deps" ]] || usage; link_deps=true; fi

root="$(cd "$(dirname "$0")/.." && pwd)"
source_dir="$root/examples/$example"
history="$source_dir/harness/history"
[[ "$example" =~ ^[a-z0-9][a-z0-9-]*$ && -d "$source_dir" ]] || fail "no example named \"$example\" under examples/" 2
[[ -f "$history" ]] || fail "examples/$example has no harness/history; it cannot be materialised" 2
if [[ -e "$target" && -n "$(ls -A "$target" 2>/dev/null)" ]]; then fail "target $target exists and is not empty" 2; fi
command -v git >/dev/null || fail "git is not on PATH"

# The example's files, as paths relative to it, harness/ and build output excepted.
mapfile -t files < <(cd "$source_dir" && find . -type f \
  -not -path './harness/*' -not -path './project.json' -not -path './node_modules/*' -not -path './dist/*' -not -name '*.tsbuildinfo' \
  | sed 's|^\./||' | LC_ALL=C sort)
mapfile -t listed < <(grep -v -e '^#' -e '^commit:' -e '^[[:space:]]*$' "$history" | LC_ALL=C sort)
if [[ "$(printf '%s\n' "${files[@]}")" != "$(printf '%s\n' "${listed[@]}")" ]]; then
  diff <(printf '%s\n' "${files[@]}") <(printf '%s\n' "${listed[@]}") >&2 || true
  fail "harness/history of $example does not list each of its files exactly once (< files, > history)" 2
fi

mkdir -p "$target"
target="$(cd "$target" && pwd)"
for file in "${files[@]}"; do
  mkdir -p "$target/$(dirname "$file")"
  cp -p "$source_dir/$file" "$target/$file"
done

export GIT_AUTHOR_NAME="Shop Developers" GIT_AUTHOR_EMAIL="dev@shop.example" \
  GIT_COMMITTER_NAME="Shop Developers" GIT_COMMITTER_EMAIL="dev@shop.example"
git_() { git -C "$target" -c init.defaultBranch=main -c commit.gpgsign=false -c core.hooksPath=/dev/null "$@"; }
git_ init --quiet
git_ checkout --quiet -B main

commit_n=0
commit_block() {
  local message="$1"; shift
  [[ $# -gt 0 ]] || return 0
  commit_n=$((commit_n + 1))
  git_ add -- "$@"
  local date="2025-01-0${commit_n}T10:00:00Z"
  GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" git_ commit --quiet -m "$message"
  echo "materialise-example: $(git_ rev-parse --short HEAD) $message" >&2
}
message=""
paths=()
while IFS= read -r line || [[ -n "$line" ]]; do
  case "$line" in
    '#'*|'') continue ;;
    commit:*)
      commit_block "$message" "${paths[@]+"${paths[@]}"}"
      message="${line#commit:}"; message="${message# }"; paths=() ;;
    *) paths+=("$line") ;;
  esac
done < "$history"
commit_block "$message" "${paths[@]+"${paths[@]}"}"

if $link_deps; then
  [[ -d "$root/node_modules" ]] || fail "--link-deps: $root/node_modules does not exist (run npm ci in Antibody first)"
  ln -s "$root/node_modules" "$target/node_modules"
fi
[[ -z "$(git_ status --porcelain)" ]] || fail "the working tree of $target is not clean after the last commit"
git_ rev-parse HEAD
