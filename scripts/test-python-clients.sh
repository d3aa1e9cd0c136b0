#!/usr/bin/env bash
# Contract step: the real Python clients (huggingface_hub, tritonclient[http,grpc], pinned in
# test/clients/python/requirements.txt), installed unchanged from PyPI into a virtual environment on CPython 3.11,
# run against the real server (node dist/src/server.js) on ephemeral ports. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "the Python client step needs CPython 3.11, got " + sys.version)'

venv=.cache/python-clients
if [ ! -x "$venv/bin/python" ]; then "$python" -m venv "$venv"; fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r test/clients/python/requirements.txt

[ -f dist/src/server.js ] || npm run build

log=$(mktemp)
PORT=0 HOST=127.0.0.1 GRPC_PORT=0 LOG_LEVEL=info node dist/src/server.js >"$log" 2>&1 &
server=$!
stop() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -f "$log"
}
trap stop EXIT

# Both listeners log their address once the model is loaded and warmed up.
url='' grpc=''
for _ in $(seq 1 600); do
  url=$(grep -o 'Server listening at http://127\.0\.0\.1:[0-9]*' "$log" | head -1 | sed 's/^Server listening at //') || true
  grpc=$(grep -o '"grpcAddress":"127\.0\.0\.1:[0-9]*"' "$log" | head -1 | sed 's/.*:"//; s/"$//') || true
  if [ -n "$url" ] && [ -n "$grpc" ]; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$log" >&2; echo 'server exited before listening' >&2; exit 1; fi
  sleep 0.1
done
if [ -z "$url" ] || [ -z "$grpc" ]; then cat "$log" >&2; echo 'server did not report both its HTTP and gRPC addresses' >&2; exit 1; fi

"$venv/bin/python" test/clients/python/clients_contract.py "$url" "$grpc"
