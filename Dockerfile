# One realtime node. Multi-stage: the build stage compiles TypeScript with
# every dev dependency; the runtime stage has only production dependencies,
# the compiled output and a non-root user.
#
#   docker build -t realtime-server .
#   docker run -p 3000:3000 -e REDIS_URL=redis://redis:6379 realtime-server
#
# Configuration is the environment (see apps/server/src/config.ts and the
# README). deploy/test/dockerfile.test.ts replays both stages without Docker.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/presence/package.json packages/presence/
COPY packages/redis/package.json packages/redis/
COPY packages/testing/package.json packages/testing/
COPY apps/server/package.json apps/server/
COPY apps/cluster/package.json apps/cluster/
RUN npm ci --no-audit --no-fund
COPY packages/ packages/
COPY apps/ apps/
RUN npx tsc -b apps/server

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
# Every workspace manifest, so npm ci sees the workspaces the lockfile lists.
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/presence/package.json packages/presence/
COPY packages/redis/package.json packages/redis/
COPY packages/testing/package.json packages/testing/
COPY apps/server/package.json apps/server/
COPY apps/cluster/package.json apps/cluster/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/packages/protocol/dist packages/protocol/dist
COPY --from=build /app/packages/presence/dist packages/presence/dist
COPY --from=build /app/packages/redis/dist packages/redis/dist
# The presence store's Lua scripts, read at start-up next to its dist/.
COPY packages/presence/lua packages/presence/lua
COPY --from=build /app/apps/server/dist apps/server/dist
# The node image's unprivileged user (uid 1000); the files above stay root's, read-only to it.
USER node
EXPOSE 3000
# Liveness only (the process serves). Readiness (/readyz) is for load balancers and Kubernetes.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: readiness 503, connections closed, presence cleaned, exit 0 within SHUTDOWN_GRACE_MS.
STOPSIGNAL SIGTERM
CMD ["node", "apps/server/dist/main.js"]
