# syntax=docker/dockerfile:1
# CPU image: Node 20 + onnxruntime-node (CPU execution provider, bundled in the npm package) + the model.
#   docker build -t sentiment-inference:0.1.0 .
#   docker run --rm -p 5000:5000 sentiment-inference:0.1.0
# Proven by scripts/test-image.sh (npm run test:image).
ARG NODE_IMAGE=node:20-bookworm-slim

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
    DEVICE=cpu
# Everything is owned by root and read-only for the server user: the app cannot modify itself, and the
# image runs with a read-only root filesystem (Kubernetes: readOnlyRootFilesystem, /tmp on an emptyDir).
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY package.json ./
COPY models ./models
# The Open Inference Protocol's gRPC API, read at start-up when GRPC_PORT is set.
COPY proto ./proto
# Numeric uid:gid (the image's "node" user) so that Kubernetes runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 5000
# node is PID 1 and handles SIGTERM itself (graceful drain); no npm or shell wrapper, which would not
# forward the signal.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/server.js"]
