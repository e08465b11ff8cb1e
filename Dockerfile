# syntax=docker/dockerfile:1
# One image recipe for every Antibody service: pick the service with a build argument.
#
#   docker build --build-arg SERVICE=analyzer -t antibody/analyzer .
#
# SERVICE is one of ingest, analyzer, patcher, validator, deployer; docker-compose.yml builds all
# five from this file. Every image also holds the `antibody` CLI (docs/images.md).
#
# Stages: manifests (package.json files and the lock only) -> deps (every dependency, for the
# build) -> build (tsc) ; manifests -> prod-deps (production dependencies only) ; runtime =
# prod-deps' node_modules + the compiled output. A change to the sources rebuilds the build stage
# and the last layers only; a change to a manifest or the lock reinstalls the dependencies.

ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS base
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# The workspace's package.json files and the lock, at their paths: what `npm ci` needs. This stage
# sees every source change, but its output changes only with a manifest, so the layers after
# `COPY --from=manifests` stay cached.
FROM base AS manifests
COPY . /src
RUN mkdir /out \
 && cd /src \
 && cp package.json package-lock.json /out/ \
 && find libs services examples -mindepth 2 -maxdepth 2 -name package.json -exec cp --parents {} /out/ \;

FROM base AS deps
COPY --from=manifests /out/ ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts

FROM base AS prod-deps
COPY --from=manifests /out/ ./
# TypeScript is a production dependency: the patcher and the validator parse code with its compiler API.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts

FROM deps AS build
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build argument SERVICE is required (ingest|analyzer|patcher|validator|deployer)" >&2; exit 1)
COPY . .
# The service, the CLI and the libraries they reference (tsc project references); then only what
# runs is collected from each project built: its package.json, dist and entry points (such as
# @antibody/platform/bootstrap, @antibody/bus/nest, the CLI's bin/), not its sources or tests.
RUN npx tsc -b "services/${SERVICE}" libs/cli \
 && mkdir -p /out/services \
 && for dir in libs/*/ "services/${SERVICE}/"; do \
      if [ -d "${dir}dist" ]; then \
        mkdir -p "/out/${dir}" && cp -r "${dir}." "/out/${dir}" \
        && (cd "/out/${dir}" && rm -rf src test fixtures node_modules project.json tsconfig*.json); \
      fi; \
    done \
 && find /out -name '*.tsbuildinfo' -delete \
 && find /out -name '*.d.ts' -delete \
 && find /out -name '*.d.ts.map' -delete

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ARG SERVICE
# git: the analyzer, patcher, validator and deployer clone and commit to repositories under care.
# tini: PID 1 that forwards signals and reaps orphans (the validator spawns process groups).
# util-linux (unshare, setpriv, prlimit: the validator's sandbox) is part of Debian's base system.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    OTEL_TRACES_EXPORTER=none
COPY --from=prod-deps /app/package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
RUN ln -s "services/${SERVICE}/dist/main.js" /app/main.js \
 && ln -s /app/libs/cli/bin/antibody.js /usr/local/bin/antibody \
 && chmod 0755 /app/libs/cli/bin/antibody.js \
 && mkdir -p /var/lib/antibody && chown node:node /var/lib/antibody
# Probes: /health/live (the process serves) and /health/ready (it can do its job); each service
# listens on PORT, by default 4100 ingest … 4104 deployer.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=process.env.PORT||{ingest:4100,analyzer:4101,patcher:4102,validator:4103,deployer:4104}[process.env.SERVICE];fetch('http://127.0.0.1:'+p+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Non-root by default; the validator's sandbox needs root and is run with `user: "0"` and a few
# capabilities (docker-compose.yml, infra/k8s/README.md), otherwise it falls back to its weaker mode.
USER node
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "/app/main.js"]
