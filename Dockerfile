# The adapter (virtual kubelet) image: one process per virtual node, see charts/iot-edge-connector.
# Build: docker build -t <registry>/iot-edge-connector-adapter:<version> .
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: nothing the adapter needs builds native code.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
COPY functions ./functions
RUN npx tsc -p tsconfig.build.json \
 && npm prune --omit=dev --ignore-scripts

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/lib ./dist/lib
# The image's unprivileged user (uid 1000, as the chart's runAsUser).
USER node
# 10250: kubelet API (TLS), 8080: /metrics /healthz /readyz
EXPOSE 10250 8080
ENTRYPOINT ["node", "dist/lib/adapter/main.js"]
