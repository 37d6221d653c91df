# One image for the three production commands (compose runs each as a service):
#   node src/bin/migrate.js   node src/bin/api.js   node --max-old-space-size=192 src/bin/worker.js
# Built in two stages: the first compiles (tsc), builds the web UI and the workflow bundle with the
# dev dependencies; the second holds only compiled JavaScript, the production dependencies (no
# tsx, no embedded Postgres, no test tools) and runs as the unprivileged `node` user.

FROM node:20-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --include=dev
COPY . .
RUN npm run build && npm run build:server

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
# dist/server mirrors the source tree (src/, workflows/, activities/) as .js, so the paths the code
# resolves from its own location (dist/web, dist/workflow-bundle.js, migrations/) hold here too.
COPY --from=build /build/dist/server/ ./
COPY --from=build /build/dist/web ./dist/web
COPY --from=build /build/dist/workflow-bundle.js ./dist/workflow-bundle.js
COPY migrations ./migrations
# The worker's build ID names the commit (there is no .git in the image): --build-arg BUILD_COMMIT=$(git rev-parse HEAD)
ARG BUILD_COMMIT
ENV BUILD_COMMIT=${BUILD_COMMIT}
USER node
EXPOSE 3000
CMD ["node", "src/bin/api.js"]
