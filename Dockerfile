# The server image: one node (its own mediasoup workers), with or without
# Redis (REDIS_URL). docker-compose.yml runs two of them on one Redis.
#
#   docker build -t streaming-engine .
#
# Needs only the npm registry and Debian's packages: mediasoup 3.8.4 vendors
# every worker dependency in its npm tarball, and the project's postinstall
# (scripts/setup-mediasoup-worker.mjs) patches and builds the worker here,
# once per change of package.json, package-lock.json or the patches (about
# 7 minutes on 2 cores).

# --- build: dependencies, the mediasoup worker, dist/ -----------------------
FROM node:20-bookworm AS build

# The worker build needs python3 (gyp), make, g++ and patch.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ patch \
 && rm -rf /var/lib/apt/lists/*

# npm 11: the image's npm 10 ignores package.json `allowScripts`, and would
# run mediasoup's own install script, which fails (unpatched gyp on Python 3.11).
RUN npm install -g npm@11.19.1

WORKDIR /app

# Install first, on its own layer: source changes do not rebuild the worker.
COPY package.json package-lock.json .npmrc ./
COPY scripts/setup-mediasoup-worker.mjs scripts/
COPY scripts/mediasoup-patches/ scripts/mediasoup-patches/
RUN npm ci

COPY tsconfig.json tsconfig.build.json ./
COPY core/ core/
COPY server/ server/
COPY turn/ turn/
COPY web/ web/
RUN npm run build

# Production dependencies only; of mediasoup's worker/ (vendored sources and
# object files, about 240 MB) keep only the binary lib/Worker.js starts.
RUN npm prune --omit=dev \
 && worker=node_modules/mediasoup/worker \
 && mv "$worker/out/Release/mediasoup-worker" /tmp/mediasoup-worker \
 && rm -rf "$worker" \
 && mkdir -p "$worker/out/Release" \
 && mv /tmp/mediasoup-worker "$worker/out/Release/mediasoup-worker" \
 && test -x "$worker/out/Release/mediasoup-worker"

# --- runtime: node, dist/, production node_modules ---------------------------
FROM node:20-bookworm-slim AS runtime

ENV NODE_ENV=production
WORKDIR /app

# Owned by root, read-only for the server's user.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/

# The image's unprivileged user (uid 1000).
USER node

# HTTP + signaling (PORT), and mediasoup's default RTC range
# (MEDIASOUP_MIN_PORT-MEDIASOUP_MAX_PORT), UDP with TCP fallback. Publish the
# range a container is configured with at the same numbers on the host: the
# announced candidates carry these ports.
EXPOSE 8080 40000-49999/udp 40000-49999/tcp

HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["node", "dist/server/main.js"]
