# syntax=docker/dockerfile:1
# CPU image: Node 24 LTS + onnxruntime-node (CPU execution provider, bundled in the npm package) + the model.
#   docker build -t sentiment-inference:0.1.0 .
#   docker run --rm -p 5000:5000 sentiment-inference:0.1.0
# Proven by scripts/test-image.sh (npm run test:image).
# Base image: pinned by tag. Where a registry is reachable, pin the digest too at build time:
#   --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:<digest>   (docker buildx imagetools inspect node:24-bookworm-slim)
# This repository's builds use locally made base images (../shared/tools/container), which have no registry digest.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: compile TypeScript with the dev dependencies ------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No install scripts are needed to compile (and npm 11 blocks unapproved ones anyway).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p . && test -f dist/src/server.js

# ---- deps: production dependencies only, trimmed to this platform ----------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# onnxruntime-node ships its CPU binaries for every platform inside the npm package; its postinstall only
# downloads the CUDA provider (see Dockerfile.gpu), so scripts are skipped here.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 # Keep only this platform's ONNX Runtime binaries (~240 MB of darwin/win32/other-arch builds otherwise).
 && arch="$(node -p process.arch)" \
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 ! -path "*/linux/${arch}" -exec rm -rf {} + \
 && rm -rf node_modules/onnxruntime-node/bin/napi-v6/darwin node_modules/onnxruntime-node/bin/napi-v6/win32 \
 # transformers.js' Node build loads onnxruntime-node; onnxruntime-web (WASM/WebGPU, ~140 MB) is for browsers.
 && rm -rf node_modules/onnxruntime-web \
 && find node_modules -name '*.map' -type f -delete \
 && test -f "node_modules/onnxruntime-node/bin/napi-v6/linux/${arch}/onnxruntime_binding.node"

# ---- runtime -----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=5000 \
    HOST=0.0.0.0 \
    DEVICE=cpu \
    HOME=/tmp
# Everything is owned by root and read-only for the server user: the app cannot modify itself, and the
# image runs with a read-only root filesystem (Kubernetes: readOnlyRootFilesystem, /tmp on an emptyDir).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
# The model(s) baked in: models/, where MODEL_DIR's default points (src/config/config.ts); whichever model is the default
# there is the image's. A model from a volume instead: k8s/components/model-volume.
COPY models ./models
# MODEL_ID=org/name serves a Hub model instead; it is cached under $HF_HOME/hub. Mount a cache volume and point
# HF_HOME at it to download once (e.g. -v hf-cache:/data/huggingface -e HF_HOME=/data/huggingface; a TEI /data or
# ~/.cache/huggingface volume works too, same layout). See the README, "Loading a model by Hub id".
# Numeric uid:gid (so that Kubernetes runAsNonRoot can verify it), >= 10000 so that it matches no host user (under
# hostPath or a runtime without user namespaces); the pods' runAsUser/runAsGroup are the same (k8s/base/deployment.yaml).
# No passwd entry is needed; HOME is /tmp.
# The Open Inference Protocol's gRPC API, read at start-up when GRPC_PORT is set.
COPY proto ./proto
USER 10001:10001
EXPOSE 5000
# node is PID 1 and handles SIGTERM itself (graceful drain); no npm or shell wrapper, which would not
# forward the signal.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/server.js"]
