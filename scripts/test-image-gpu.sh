#!/usr/bin/env bash
# Builds the GPU image (Dockerfile.gpu) and proves it on a machine without a GPU:
#  1. every shared library of the CUDA execution provider and of the CUDA/cuDNN set resolves inside the image,
#     except the driver's libcuda.so.1 (the host provides it at run time): no missing or mismatched library;
#  2. DEVICE=cpu: the whole CPU image test (scripts/test-image.sh: /analyze, metrics, SIGTERM drain) on this image;
#  3. DEVICE=cuda: the server refuses to start, fast, with a message about the missing NVIDIA driver/GPU that names
#     the CUDA execution provider (ONNX Runtime got as far as loading it), never falling back to the CPU.
# On a GPU host (GPU_HOST=1, with --gpus / CDI set up) step 3 instead expects the server to serve on CUDA.
#
#   npm run test:image:gpu
#
# Variables: as scripts/test-image.sh (CONTAINER_CLI, TEST_PORT, READY_TIMEOUT_S, ...), plus IMAGE (default
# sentiment-inference:test-cuda), SKIP_BUILD=1 to reuse IMAGE, CUDA_FAIL_BUDGET_S (default 60: how long DEVICE=cuda
# may take to give up), GPU_RUN_ARGS (default "--gpus all", with GPU_HOST=1), BUILD_ARGS (extra build arguments,
# e.g. --no-cache to time a cold build).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/container-cli.sh
source scripts/container-cli.sh test-image-gpu
export CONTAINER_CLI IMAGE=${IMAGE:-sentiment-inference:test-cuda}
CUDA_FAIL_BUDGET_S=${CUDA_FAIL_BUDGET_S:-60}
PROVIDER=/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
NAME=sentiment-image-gpu-test-$$
WORK=$(mktemp -d)
started=$(date +%s)
log() { printf '[test-image-gpu %3ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { log "FAIL: $*"; exit 1; }
cleanup() { $ADMIN rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  t0=$(date +%s)
  log "building $IMAGE from Dockerfile.gpu with $CLI"
  # shellcheck disable=SC2086
  $CLI build ${BUILD_ARGS:-} -t "$IMAGE" -f Dockerfile.gpu . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "image build failed"; }
  log "built in $(( $(date +%s) - t0 ))s"
fi
size=$($ADMIN image inspect --format '{{.Size}}' "$IMAGE")
log "image $IMAGE: $(( size / 1024 / 1024 )) MiB"

# ---- 1. the libraries resolve -------------------------------------------------------------------------
# ldd (glibc's, in every Debian image) on the provider and on each CUDA library, inside the image, as it runs.
$CLI run --rm --entrypoint /bin/sh "$IMAGE" -c "for f in $PROVIDER /opt/cuda/lib/*.so*; do echo \"== \$f\"; ldd \"\$f\"; done" \
  >"$WORK/ldd.txt" 2>&1 || { tail -20 "$WORK/ldd.txt"; fail "ldd failed in the image"; }
unresolved=$(grep 'not found' "$WORK/ldd.txt" | awk '{print $1}' | sort -u | tr '\n' ' ')
log "unresolved libraries in the image: ${unresolved:-none} (libcuda.so.1 is the host driver's)"
[ "$unresolved" = "libcuda.so.1 " ] || fail "expected only libcuda.so.1 to be unresolved, got: ${unresolved:-none}"
grep -A30 "== $PROVIDER" "$WORK/ldd.txt" | grep -q 'libcublasLt.so.13 => /opt/cuda/lib/' \
  || fail "the provider does not resolve cuBLASLt from /opt/cuda/lib"

# ---- 2. DEVICE=cpu: the same image serves on the CPU --------------------------------------------------
log "DEVICE=cpu: the CPU image test on $IMAGE"
SKIP_BUILD=1 RUN_ENV="DEVICE=cpu" bash scripts/test-image.sh

# ---- 3. DEVICE=cuda -----------------------------------------------------------------------------------
if [ "${GPU_HOST:-0}" = 1 ]; then
  log "GPU_HOST=1: DEVICE=cuda must serve"
  SKIP_BUILD=1 RUN_ENV="DEVICE=cuda" RUN_ARGS="${GPU_RUN_ARGS:---gpus all}" bash scripts/test-image.sh
  log "PASS (GPU host)"; exit 0
fi
log "DEVICE=cuda without a GPU: must refuse to start within ${CUDA_FAIL_BUDGET_S}s"
t0=$(date +%s)
$CLI run -d --name "$NAME" --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  -e DEVICE=cuda -e PORT=0 "$IMAGE" >/dev/null
deadline=$(( t0 + CUDA_FAIL_BUDGET_S ))
while [ "$($ADMIN inspect --format '{{.State.Running}}' "$NAME")" = true ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { $ADMIN logs "$NAME" 2>&1 | tail -20; fail "still running after ${CUDA_FAIL_BUDGET_S}s"; }
  sleep 0.5
done
code=$($ADMIN inspect --format '{{.State.ExitCode}}' "$NAME")
$ADMIN logs "$NAME" >"$WORK/cuda.log" 2>&1 || true
log "DEVICE=cuda -> exit code $code after $(( $(date +%s) - t0 ))s; last lines:"
tail -5 "$WORK/cuda.log" | cut -c1-600 | sed 's/^/    /'
[ "$code" != 0 ] || fail "DEVICE=cuda exited 0 without a GPU"
grep -qiE 'nvidia driver|no (nvidia )?gpu|libcuda\.so\.1' "$WORK/cuda.log" || fail "no message about the missing NVIDIA driver/GPU"
grep -qi 'cuda' "$WORK/cuda.log" && grep -qi 'execution provider' "$WORK/cuda.log" || fail "the message does not name the CUDA execution provider"
grep -qE 'providers_cuda\.so[^a-zA-Z]*(is not installed|not found)|libcu(blas|blasLt|dart|rand|fft|dnn)[^ ]* *: cannot open' "$WORK/cuda.log" \
  && fail "a CUDA library other than the driver's is missing"
grep -q '"listening\|Server listening' "$WORK/cuda.log" && fail "DEVICE=cuda started serving (CPU fallback?)"

log "PASS ($(( $(date +%s) - started ))s total; image $(( size / 1024 / 1024 )) MiB)"
