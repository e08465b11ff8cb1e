# One image recipe for every Antibody service: pick the service with a build argument.
#
#   docker build --build-arg SERVICE=analyzer -t antibody/analyzer .
#
# SERVICE is one of ingest, analyzer, patcher, validator, deployer. docker-compose.yml builds all
# five from this file. The runtime image keeps the full node_modules: the patcher and validator use
# the TypeScript compiler API at run time, and TypeScript is a devDependency of the workspace.

FROM node:20-bookworm-slim AS build
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build argument SERVICE is required (ingest|analyzer|patcher|validator|deployer)" >&2; exit 1)
WORKDIR /app
# Everything the workspace install needs (.dockerignore keeps node_modules, dist and .git out).
COPY . .
RUN npm ci --no-audit --no-fund
# Builds the service and the libraries it references (tsc project references).
RUN npx tsc -b "services/${SERVICE}"

FROM node:20-bookworm-slim AS runtime
ARG SERVICE
# git: the analyzer, patcher, validator and deployer clone and commit to repositories under care.
# util-linux (unshare, setpriv, prlimit) is part of Debian's base system: the validator's sandbox.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production \
    SERVICE=${SERVICE} \
    OTEL_TRACES_EXPORTER=none
# Each service listens on PORT (default 4100 ingest … 4104 deployer) and answers GET /health.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "const p=process.env.PORT||{ingest:4100,analyzer:4101,patcher:4102,validator:4103,deployer:4104}[process.env.SERVICE];fetch('http://127.0.0.1:'+p+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Non-root by default; the validator's sandbox needs root and is run with `user: "0"` (see
# docker-compose.yml and docs/security.md), otherwise it falls back to its weaker mode.
USER node
CMD ["sh", "-c", "exec node \"services/${SERVICE}/dist/main.js\""]
