# The adapter (virtual kubelet) image: one process per virtual node, see charts/iot-edge-connector.
# Build: docker build -t <registry>/iot-edge-connector-adapter:<version> .
# test/packaging/adapterImage.test.ts assembles both stages from these lines without Docker and runs the adapter.
FROM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: nothing the adapter needs builds native code. No BuildKit-only syntax
# (RUN --mount): `az acr build` runs the classic builder.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY lib ./lib
RUN npx tsc -p tsconfig.build.json

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# npm's download cache does not stay in the layer.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# The adapter and what it imports from lib/: the pod annotations it reads (translate), the fleet
# policy it checks pods against (policy, which parses target conditions: hub/twinQuery), the
# redaction of its logs (hub/redact), the provider API contract it shares with the Functions app and
# the staged rollouts' stage rule (rollout).
COPY --from=build /src/dist/lib/adapter ./dist/lib/adapter
COPY --from=build /src/dist/lib/rollout ./dist/lib/rollout
COPY --from=build /src/dist/lib/translate ./dist/lib/translate
COPY --from=build /src/dist/lib/policy ./dist/lib/policy
COPY --from=build /src/dist/lib/hub/redact.js /src/dist/lib/hub/twinQuery.js ./dist/lib/hub/
COPY --from=build /src/dist/lib/provider/providerContract.js ./dist/lib/provider/
# The licence of the SchemaStore schemas dist/lib/translate carries.
COPY lib/translate/schemas/SCHEMASTORE-LICENSE.txt lib/translate/schemas/SCHEMASTORE-NOTICE.txt ./dist/lib/translate/schemas/
# The image's unprivileged user (uid 1000, as the chart's runAsUser).
USER node
# 10250: kubelet API (TLS), 8080: /metrics /healthz /readyz
EXPOSE 10250 8080
ENTRYPOINT ["node", "dist/lib/adapter/main.js"]
