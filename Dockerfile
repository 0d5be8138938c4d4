# renga worker / CLI / codec server image.
# Stage 1 compiles TypeScript and writes the production workflow bundles (dist/workflow-bundle.js, and
# dist/workflow-bundle.encoded-failures.js for workers with encryption on), so workers start without
# webpack; stage 2 carries only production dependencies and dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY workflows ./workflows
COPY activities ./activities
COPY worker ./worker
COPY client ./client
COPY shared ./shared
COPY simulator ./simulator
COPY temporal ./temporal
COPY tools ./tools
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Non-root; the payload and blob directories are volumes this user owns.
RUN mkdir -p /data/payloads /data/blobs && chown -R node:node /data
USER node
ENV RENGA_PAYLOAD_DIR=/data/payloads \
    RENGA_BLOB_DIR=/data/blobs
# glibc gives each thread that allocates its own arena (up to 8 per core) and keeps what they free:
# with two, a worker's peak RSS at 1,000 subtasks fell from 408–446 to 382–393 MiB at the same
# speed (BENCHMARKS.md, "Fifth round"). Set it higher or unset it to trade memory for allocator speed.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["node", "dist/client/cli.js"]
CMD ["worker"]
