# syntax=docker/dockerfile:1.7
#
# One image for every stage: `docker run IMAGE score|ingest|enrich|replay|stats|tx|model|config`.
# The entrypoint is the att CLI; the command is the subcommand (default: score).
#
# Debian slim, not Alpine: onnxruntime-node's native binding and msgpackr's (BullMQ) prebuilt
# extension are linked against glibc.
#
# Not in this image, on purpose:
#   - Python / model-tools: scoring runs in TypeScript on onnxruntime-node. Importing or training a
#     model (`att model import|train`) is a workstation/CI task; the result is a model folder that
#     is copied into models/registry (or mounted, see ATT_MODEL_REGISTRY).
#   - anvil, solc, the local Kafka/Redis stack: `att demo` and `att simulate` are for development.
#
# Docker does not run on the project's machines; scripts/pack-install-check.sh executes this
# file's runtime stage (its COPY and RUN steps, in order) in a temporary folder and scores rows
# with the result (test/deploy-image.test.ts). Keep RUN steps free of absolute paths so that the
# check can replay them.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: dev dependencies, TypeScript -> dist/ --------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# onnxruntime-node's install script would download CUDA libraries from NuGet: package.json's
# allowScripts denies it to npm 11, and ONNXRUNTIME_NODE_INSTALL=skip ends it under any npm
# (.npmrc has only fund/audit: npm 11 warns about every key it does not know).
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc alone: npm run build also regenerates schemas/ (scripts/gen-schemas.ts), which the image
# does not carry.
RUN npx tsc -p tsconfig.build.json

# ---- runtime: production dependencies, compiled code, bundled models -------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=cache,target=/root/.npm ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev --no-audit --no-fund
COPY scripts/prune-runtime.sh ./scripts/prune-runtime.sh
RUN sh scripts/prune-runtime.sh && rm -rf scripts
COPY --from=build /src/dist ./dist
COPY models/registry ./models/registry
# Absolute, so that the default model is found whatever the working directory; a mounted
# registry (PVC, ConfigMap, init container) replaces it with ATT_MODEL_REGISTRY=<mount path>.
ENV ATT_MODEL_REGISTRY=/app/models/registry
# Files stay root-owned and read-only for the process; it runs as the image's unprivileged user.
USER node
# /metrics, /healthz, /readyz (ATT_METRICS_PORT)
EXPOSE 9464
ENTRYPOINT ["node", "/app/dist/cli.js"]
CMD ["score"]
