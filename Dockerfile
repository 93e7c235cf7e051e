# The Task API in a container: production dependencies only, a non-root user, the embedded
# database in the /data volume (or DATABASE_URL). How to run it: docs/DEPLOYMENT.md.
#
#   docker build -t task-api .
#   docker run -p 8000:8000 -v task-api-data:/data -e BETTER_AUTH_URL=https://app.example.com \
#     -e CORS_ORIGINS=https://app.example.com task-api

# --- what npm ci needs, picked out of the build context ------------------------------------
# package.json and the lock file, the package.json of packages/client (a workspace the lock file
# names), scripts/ and vendor/ when it exists (vendor/ holds the patched postgres.js tarball that
# package.json installs; no install script of ours runs). Not examples/, the other workspace
# (.dockerignore): without its package.json, npm ci and npm prune install nothing of the example
# (Next.js, React), which the lock file lists and Better Auth, a devDependency, names as optional
# peers. COPY cannot name an optional folder, hence this stage: the next one copies its result,
# whose content, not this stage, decides whether npm ci runs again.
FROM node:24-bookworm-slim AS manifests
WORKDIR /app
COPY . .
RUN mkdir -p /manifests/packages/client \
  && cp -r package.json package-lock.json scripts /manifests/ \
  && cp packages/client/package.json /manifests/packages/client/ \
  && if [ -d vendor ]; then cp -r vendor /manifests/; fi

# --- build: all dependencies, compile, then drop the development ones ------------------------
# --workspaces=false: the API's dependencies only, not those of the workspace packages/client (the
# typed client for frontends), which the service does not use.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY --from=manifests /manifests/ ./
RUN npm ci --workspaces=false --no-audit --no-fund
COPY . .
RUN npm run build \
  && npm prune --omit=dev --workspaces=false --no-audit --no-fund

# --- runtime: node, the compiled code, the migrations and the production dependencies ---------
FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data
WORKDIR /app
# Owned by root and read-only to the service's user; package.json says "type": "module" and
# gives the version, drizzle/ holds the migrations that run at start.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/src/ dist/src/
COPY --from=build /app/drizzle/ drizzle/
# The embedded PostgreSQL refuses root and runs as the service's user: "node" (uid 1000) of the
# base image owns /data. A new named volume takes this owner; a host folder needs chown 1000:1000.
RUN install -d -o node -g node -m 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 8000
# Readiness: the database answers. Node, since the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/ready').then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))"]
# node itself as PID 1 (not npm, not a shell), so SIGTERM reaches the server: it stops accepting,
# finishes in-flight requests (at most 10 s), stops the embedded database and exits 0. Give it a
# stop timeout above 10 s (docker stop -t 30; compose's stop_grace_period).
CMD ["node", "dist/src/server.js"]
