# syntax=docker/dockerfile:1
# Build stage: production dependencies only (Node runs the TypeScript sources directly; no compile step).
FROM node:24-alpine AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# Runtime stage: the sources, the dependencies, an unprivileged user.
FROM node:24-alpine AS runtime
ENV NODE_ENV=production
# Bounded young generation (see README, Performance); `worker` and `enqueue` also cap the old generation
# (INVITEBUS_HEAP_MB, 128 by default), re-running themselves with the flag.
ENV NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY src ./src
COPY workers ./workers
COPY examples ./examples
USER node
ENTRYPOINT ["node", "bin/invitebus.js"]
CMD ["--help"]
