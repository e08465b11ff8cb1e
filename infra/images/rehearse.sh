#!/usr/bin/env bash
# Rehearses the Dockerfile's stages on this machine, without Docker: the same commands, in the same
# order, on the build context .dockerignore leaves (taken from a commit, default HEAD), with the
# Node.js and Debian of this machine instead of the image's. Then starts the assembled runtime
# tree against DATABASE_URL/NATS_URL, asks /health/live and /health/ready, runs the CLI, and
# prints the size of each part of the image that depends on us (docs/images.md).
#
#   infra/images/rehearse.sh [SERVICE ...]      (default: all five; needs the npm registry)
#
# What it cannot tell: anything about the base image (node:24-bookworm-slim) or apt-get in it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
COMMIT="${COMMIT:-HEAD}"
SERVICES=("${@:-ingest analyzer patcher validator deployer}")
read -r -a SERVICES <<<"${SERVICES[*]}"
WORK="$(mktemp -d /tmp/antibody-rehearse-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false

# The build context: the commit's files less what .dockerignore names (the patterns it uses).
mkdir -p "$WORK/context"
git -C "$ROOT" archive "$COMMIT" | tar -x -C "$WORK/context"
(
  cd "$WORK/context"
  rm -rf .git .nx .ci .antibody bench docs infra tools
  find . -name node_modules -prune -exec rm -rf {} + -o -name dist -prune -exec rm -rf {} + -o -name test -type d -prune -exec rm -rf {} +
  find . \( -name '*.spec.ts' -o -name '*.tsbuildinfo' \) -delete
  for example in examples/*/; do find "$example" -mindepth 1 -maxdepth 1 ! -name package.json -exec rm -rf {} +; done
)
echo "context: $(du -sh "$WORK/context" | cut -f1)"

# Stage manifests.
mkdir -p "$WORK/manifests"
(cd "$WORK/context" && cp package.json package-lock.json "$WORK/manifests/" \
  && find libs services examples -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} "$WORK/manifests/" \;)
# Stage prod-deps.
cp -r "$WORK/manifests" "$WORK/prod-deps"
(cd "$WORK/prod-deps" && npm ci --omit=dev --ignore-scripts --loglevel=error)
# Stage deps, then build's sources on top.
cp -r "$WORK/manifests" "$WORK/build"
(cd "$WORK/build" && npm ci --ignore-scripts --loglevel=error)
cp -r "$WORK/context/." "$WORK/build/"

printf '%-10s %12s %12s %12s\n' service node_modules compiled total
for SERVICE in "${SERVICES[@]}"; do
  OUT="$WORK/out-$SERVICE"
  (
    cd "$WORK/build"
    npx tsc -b "services/${SERVICE}" libs/cli
    mkdir -p "$OUT/services"
    for dir in libs/*/ "services/${SERVICE}/"; do
      if [ -d "${dir}dist" ]; then
        mkdir -p "$OUT/${dir}" && cp -r "${dir}." "$OUT/${dir}" \
        && (cd "$OUT/${dir}" && rm -rf src test fixtures node_modules project.json tsconfig*.json)
      fi
    done
    find "$OUT" -name '*.tsbuildinfo' -delete
    find "$OUT" -name '*.d.ts' -delete
    find "$OUT" -name '*.d.ts.map' -delete
    # The next service builds from a clean tree, as its own image would.
    find . -path ./node_modules -prune -o -name dist -type d -prune -exec rm -rf {} +
  )
  # Stage runtime.
  RUNTIME="$WORK/runtime-$SERVICE"
  mkdir -p "$RUNTIME"
  cp "$WORK/prod-deps/package.json" "$RUNTIME/"
  cp -r "$WORK/prod-deps/node_modules" "$RUNTIME/node_modules"
  cp -r "$OUT/." "$RUNTIME/"
  ln -s "services/${SERVICE}/dist/main.js" "$RUNTIME/main.js"
  printf '%-10s %12s %12s %12s\n' "$SERVICE" "$(du -sh "$RUNTIME/node_modules" | cut -f1)" "$(du -sh --exclude=node_modules "$OUT" | cut -f1)" "$(du -sh "$RUNTIME" | cut -f1)"

  if [ -n "${DATABASE_URL:-}" ]; then
    PORT="$(node -e "const s=require('net').createServer().listen(0,()=>{console.log(s.address().port);s.close()})")"
    (cd "$RUNTIME" && NODE_ENV=production SERVICE="$SERVICE" PORT="$PORT" LOG_LEVEL=warn OTEL_TRACES_EXPORTER=none \
      ANTIBODY_SCHEMA="rehearse_${SERVICE}" VALIDATOR_WORK_DIR="$WORK/validator" ANTIBODY_GIT_CACHE="$WORK/git-cache" \
      node main.js >"$WORK/$SERVICE.log" 2>&1) &
    PID=$!
    ok=""
    for _ in $(seq 1 120); do
      if curl -fsS "http://127.0.0.1:$PORT/health/ready" >/dev/null 2>&1; then ok=yes; break; fi
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.5
    done
    live="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/health/live" || true)"
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    if [ -z "$ok" ]; then echo "  $SERVICE did not become ready; its log:"; cat "$WORK/$SERVICE.log"; exit 1; fi
    echo "  started from the runtime tree: /health/ready 200, /health/live $live"
    (cd "$RUNTIME" && node libs/cli/bin/antibody.js --help >/dev/null) && echo "  antibody --help runs from the runtime tree"
  fi
done
