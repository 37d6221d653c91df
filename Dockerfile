# One image for both production processes: `npm run start:api` and `npm run start:worker`.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Dev dependencies are needed to build the web UI and the workflow bundle; pruned afterwards.
RUN npm ci --include=dev
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts
# tsx runs the TypeScript entry points; it is a production dependency.
EXPOSE 3000
CMD ["npm", "run", "start:api"]
