# The simulator's seed sweep in a container: `docker build -t stackraft-sim .`, then
# `docker run --rm stackraft-sim --seeds 100 --shard 1/4 --out /dev/stdout` runs a slice, and
# deploy/sim-sweep/ runs N slices in parallel as a Kubernetes Indexed Job (see its README).
# The entry point is `node dist/sim/sweep.js`: every argument of `npm run sim:sweep --` works.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY consensus consensus
COPY storage storage
COPY agent agent
COPY drivers drivers
COPY sim sim
COPY cmd cmd
COPY test test
COPY bench bench
RUN npm run -s build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
# Result files go here (the Job mounts its results volume on it).
RUN mkdir /results && chown node:node /results
USER node
ENTRYPOINT ["node", "dist/sim/sweep.js"]
