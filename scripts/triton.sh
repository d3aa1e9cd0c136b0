#!/usr/bin/env bash
# npm run triton: NVIDIA Triton Inference Server for the model, in the foreground, on CPU with ONNX Runtime, from
# a pinned Python environment (created on first use; again when its requirements change). The images run it too.
# The server binary and its Python backend come from the nvidia-pytriton wheel; docs/TRITON.md has the recipe,
# the tensor contract and the GPU and Inferentia2 variants. SIGTERM/SIGINT reach tritonserver itself (exec), which
# stops taking requests, finishes those in flight and exits.
#
# Settings (environment):
#   TRITON_GRPC_PORT     gRPC (Open Inference Protocol v2), default 8001
#   TRITON_HTTP_PORT     HTTP/REST and /v2/health, default 8000; off: no HTTP listener
#   TRITON_METRICS_PORT  Prometheus metrics, default 8002; off: no metrics listener
#   TRITON_HOST          address all listeners bind, default 0.0.0.0
#   MODEL_DIR            the model directory served, default models/sst2-minilm-l6; the repository must have a folder
#                        of the same name (the name the service publishes and REMOTE_MODEL defaults to)
#   TRITON_MODEL_REPOSITORY  default triton/repository
#   TRITON_RUNTIME       overrides config.pbtxt's runtime parameter (onnxruntime-cpu here)
#   BATCH_SHAPES         optional fixed shapes (1x128,8x128): batches are padded up to one of them
#   TRITON_VENV          the Python environment, default .cache/triton/venv (share one between checkouts)
#   TRITON_REQUIREMENTS  what it holds, default triton/requirements-cpu.txt
#   PYTHON               the CPython that creates it, default python3.11 (the wheel has stubs for 3.8-3.13)
# `scripts/triton.sh --prepare` only makes the environment (CI before the tests, the images at build time).
set -euo pipefail

absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac; }
root=$(cd "$(dirname "$0")/.." && pwd)
model_dir=$(absolute "${MODEL_DIR:-$root/models/sst2-minilm-l6}")
repository=$(absolute "${TRITON_MODEL_REPOSITORY:-$root/triton/repository}")
venv=$(absolute "${TRITON_VENV:-$root/.cache/triton/venv}")
requirements=$(absolute "${TRITON_REQUIREMENTS:-$root/triton/requirements-cpu.txt}")

# The environment and the backend folder, made or brought up to date under a lock (parallel starts share one
# install); skipped when up to date, so that an image's read-only copy made at build time (--prepare) is used as is.
backends=$venv/triton-backends
# The requirements file and the one it includes (-r).
stamp=$(cat "$requirements" "$root/triton/requirements.txt" | sha256sum | cut -d' ' -f1)
prepare() {
  python=${PYTHON:-python3.11}
  command -v "$python" >/dev/null || python=python3
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  echo "triton: installing $requirements into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >&2
  local wheel python_version stub
  wheel=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pytriton/tritonserver
  python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  stub=$wheel/python_backend_stubs/$python_version/triton_python_backend_stub
  [ -x "$stub" ] || { echo "triton: no Python backend stub for Python $python_version in $wheel" >&2; exit 1; }
  # Triton wants <backend dir>/python/ to hold the backend library and the stub for the Python it embeds.
  mkdir -p "$backends/python"
  ln -sfn "$wheel"/backends/python/* "$stub" "$backends/python/"
  echo "$stamp" >"$venv/.requirements.sha256"
}
if [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$stamp" ]; then
  mkdir -p "$(dirname "$venv")"
  (
    flock 9
    [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" = "$stamp" ] || prepare
  ) 9>"$venv.lock"
fi
[ "${1:-}" != --prepare ] || exit 0

model_name=$(basename "$model_dir")
if [ ! -f "$repository/$model_name/config.pbtxt" ]; then
  echo "triton: no model '$model_name' (MODEL_DIR=$model_dir) in the repository $repository" >&2
  exit 1
fi

site_packages=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
wheel=$site_packages/pytriton/tritonserver
# The stub embeds libpython from the interpreter's lib/ and loads the wheel's bundled libraries (a CUDA runtime
# among them; no GPU is needed); model.py adds VIRTUAL_ENV's packages, which the stub does not see by itself.
libpython=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')
export LD_LIBRARY_PATH=$libpython:$site_packages/nvidia_pytriton.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export VIRTUAL_ENV=$venv MODEL_DIR=$model_dir

listener() { # name, port setting's value
  if [ "$2" = off ]; then echo "--allow-$1=false"; else echo "--allow-$1=true --$1-port=$2"; fi
}
host=${TRITON_HOST:-0.0.0.0}
# shellcheck disable=SC2046 # the listener flags are meant to split
exec "$wheel/bin/tritonserver" \
  --model-repository="$repository" --backend-directory="$backends" \
  --disable-auto-complete-config \
  --grpc-address="$host" --grpc-port="${TRITON_GRPC_PORT:-8001}" --http-address="$host" \
  $(listener http "${TRITON_HTTP_PORT:-8000}") $(listener metrics "${TRITON_METRICS_PORT:-8002}") \
  --metrics-address="$host"
