#!/usr/bin/env bash
# Prepares the GPU image's native libraries: downloads the pinned wheels of scripts/gpu-wheels.txt into
# GPU_WHEELS_DIR (default .cache/gpu-wheels; about 1.5 GB) and extracts only the shared libraries the CUDA
# execution provider loads into GPU_LIBS_DIR (default .cache/gpu-libs):
#   ort/   libonnxruntime_providers_cuda.so, libonnxruntime_providers_shared.so (next to onnxruntime-node's core)
#   cuda/  CUDA runtime, cuBLAS(Lt), cuFFT, cuRAND, NVRTC, cuDNN 9 (on LD_LIBRARY_PATH in the image)
# The driver's libcuda.so.1 is not among them: the NVIDIA container toolkit mounts the host's at run time.
# Dockerfile.gpu runs it in its gpu-libs build stage (wheels on a build cache mount), so the image builds from a
# fresh checkout; run by hand it fills .cache/ for inspection.
#
#   bash scripts/prepare-gpu-libs.sh      # idempotent; PIP (default: pip3, else pip) selects the pip
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=${GPU_WHEELS_DIR:-.cache/gpu-wheels}
LIBS=${GPU_LIBS_DIR:-.cache/gpu-libs}
REQ=scripts/gpu-wheels.txt

# The provider must come from the same ONNX Runtime release as onnxruntime-node's core library.
node_ort=$(node -p 'require("./package-lock.json").packages["node_modules/onnxruntime-node"].version')
gpu_ort=$(sed -nE 's/^onnxruntime-gpu==([^ ]+).*/\1/p' "$REQ")
[ "$node_ort" = "$gpu_ort" ] || {
  echo "prepare-gpu-libs: onnxruntime-node is $node_ort but $REQ pins onnxruntime-gpu==$gpu_ort; make them equal" >&2; exit 1; }

PIP=${PIP:-$(command -v pip3 || command -v pip || true)}
[ -n "$PIP" ] || { echo "prepare-gpu-libs: needs pip (python3-pip) to download the wheels" >&2; exit 1; }
mkdir -p "$WHEELS"
# Linux x86-64 wheels whatever this machine is; hashes from $REQ (pip refuses anything else).
"$PIP" download --quiet --no-deps --require-hashes --only-binary=:all: --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 \
  -r "$REQ" -d "$WHEELS"

# extract WHEEL_GLOB DEST MEMBER...: the named members only, flattened into DEST.
extract() {
  local wheel; wheel=$(ls "$WHEELS"/$1 | tail -1); local dest=$2; shift 2
  python3 - "$wheel" "$dest" "$@" <<'PY'
import sys, zipfile, os, shutil
wheel, dest, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for m in members:
        with z.open(m) as src, open(os.path.join(dest, os.path.basename(m)), 'wb') as out:
            shutil.copyfileobj(src, out)
PY
}

stamp=$(sha256sum "$REQ" scripts/prepare-gpu-libs.sh | sha256sum | cut -c1-16)
if [ "$(cat "$LIBS/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "prepare-gpu-libs: $LIBS is up to date ($(du -sh "$LIBS" | cut -f1))"; exit 0
fi
rm -rf "$LIBS"; mkdir -p "$LIBS/ort" "$LIBS/cuda"
# The TensorRT provider is left out: it needs TensorRT, which the image does not ship.
extract 'onnxruntime_gpu-*.whl' "$LIBS/ort" \
  onnxruntime/capi/libonnxruntime_providers_cuda.so onnxruntime/capi/libonnxruntime_providers_shared.so
extract 'nvidia_cuda_runtime-*.whl' "$LIBS/cuda" nvidia/cu13/lib/libcudart.so.13
extract 'nvidia_cublas-*.whl' "$LIBS/cuda" nvidia/cu13/lib/libcublas.so.13 nvidia/cu13/lib/libcublasLt.so.13
extract 'nvidia_cufft-*.whl' "$LIBS/cuda" nvidia/cu13/lib/libcufft.so.12
extract 'nvidia_curand-*.whl' "$LIBS/cuda" nvidia/cu13/lib/libcurand.so.10
extract 'nvidia_cuda_nvrtc-*.whl' "$LIBS/cuda" nvidia/cu13/lib/libnvrtc.so.13 nvidia/cu13/lib/libnvrtc-builtins.so.13.0
# cuDNN 9 loads its sub-libraries (graph, ops, cnn, adv, engines, heuristic) on demand by name: all of them.
extract 'nvidia_cudnn_cu13-*.whl' "$LIBS/cuda" $(python3 -c '
import sys, zipfile
print(" ".join(n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.startswith("nvidia/cudnn/lib/libcudnn") and n.endswith(".so.9")))
' "$(ls "$WHEELS"/nvidia_cudnn_cu13-*.whl | tail -1)")
chmod 0644 "$LIBS"/ort/* "$LIBS"/cuda/*

# Every library the provider links (bar the driver's libcuda.so.1 and glibc's) is here.
missing=0
for lib in $(readelf -d "$LIBS/ort/libonnxruntime_providers_cuda.so" | sed -nE 's/.*NEEDED.*\[(.*)\]/\1/p'); do
  case "$lib" in libcuda.so.1|libc.so.*|libm.so.*|libdl.so.*|librt.so.*|libpthread.so.*|libstdc++.so.*|libgcc_s.so.*|ld-linux*) continue;; esac
  [ -f "$LIBS/cuda/$lib" ] || { echo "prepare-gpu-libs: the CUDA provider needs $lib, not extracted" >&2; missing=1; }
done
[ $missing = 0 ] || exit 1
echo "$stamp" > "$LIBS/.stamp"
echo "prepare-gpu-libs: $LIBS ready ($(du -sh "$LIBS" | cut -f1)): $(ls "$LIBS/ort" "$LIBS/cuda" | grep -c '\.so')  libraries"
