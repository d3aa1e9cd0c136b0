#!/usr/bin/env bash
# Builds the CPU image and proves it, starting it the way Kubernetes runs it (read-only root filesystem,
# writable /tmp only, all capabilities dropped, the image's own non-root user):
#  1. waits for /readyz, runs the article's curl against /analyze and checks POSITIVE (and a NEGATIVE),
#     checks /healthz, /info, /docs/json and that every metric the alerts and dashboard use is exported,
#     sends SIGTERM and checks exit code 0 within the drain budget;
#  2. drain: a second container whose batcher holds requests (MAX_WAIT_MS) gets 20 requests, and SIGTERM
#     once all 20 are accepted and queued; every one must still be answered in full, then exit 0.
#
#   npm run test:image                       # docker
#   CONTAINER_CLI=podman npm run test:image  # any docker-compatible CLI
#
# Variables: CONTAINER_CLI (default: docker; if docker is absent or has no engine, and ../shared/tools/container exists,
# that one), IMAGE (default sentiment-inference:test), TEST_PORT (default 5055; the container publishes it
# with -p, or binds it directly on host-network runtimes), READY_TIMEOUT_S (default 300),
# STOP_BUDGET_S (default 15: SHUTDOWN_TIMEOUT_MS 10 s + margin), SKIP_BUILD=1 to reuse IMAGE, DOCKERFILE (default
# Dockerfile), RUN_ENV (extra settings for every container, e.g. "DEVICE=cpu") and RUN_ARGS (extra run arguments,
# e.g. "--gpus all"): scripts/test-image-gpu.sh uses them.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/container-cli.sh
source scripts/container-cli.sh test-image
IMAGE=${IMAGE:-sentiment-inference:test}
DOCKERFILE=${DOCKERFILE:-Dockerfile}
run_env=()
for kv in ${RUN_ENV:-}; do run_env+=(-e "$kv"); done
read -r -a run_args <<<"${RUN_ARGS:-}"
PORT=${TEST_PORT:-5055}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}
STOP_BUDGET_S=${STOP_BUDGET_S:-15}
NAME=sentiment-image-test-$$
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
started=$(date +%s)

log() { printf '[test-image %3ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { log "FAIL: $*"; log "container logs:"; $ADMIN logs "$NAME" 2>&1 | tail -50 || true; exit 1; }
cleanup() { $ADMIN rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

command -v curl >/dev/null || { echo "test-image: curl is required" >&2; exit 1; }
if curl -s -o /dev/null "$BASE/healthz"; then
  echo "test-image: something already listens on port $PORT; set TEST_PORT" >&2; exit 1
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building $IMAGE with $CLI"
  $CLI build -t "$IMAGE" -f "$DOCKERFILE" . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "image build failed"; }
fi
size=$($ADMIN image inspect --format '{{.Size}}' "$IMAGE")
user=$($ADMIN image inspect --format '{{.Config.User}}' "$IMAGE")
log "image $IMAGE: $(( size / 1024 / 1024 )) MiB, user '$user'"
case "$user" in ''|0|0:*|root|root:*) fail "image runs as root (USER '$user')";; esac

running() { [ "$($ADMIN inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; }
start_container() { # extra `-e VAR=value` arguments
  $ADMIN rm -f "$NAME" >/dev/null 2>&1 || true
  log "starting container on port $PORT $*"
  $CLI run -d --name "$NAME" -p "$PORT:$PORT" -e PORT="$PORT" \
    --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
    ${run_env[@]+"${run_env[@]}"} ${run_args[@]+"${run_args[@]}"} "$@" "$IMAGE" >/dev/null
  local deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; do
    running || fail "container exited before it was ready"
    [ "$(date +%s)" -lt "$deadline" ] || fail "not ready after ${READY_TIMEOUT_S}s"
    sleep 1
  done
  log "ready"
}
stop_container() { # SIGTERM; sets exit_code and stop_ms
  local t0; t0=$(date +%s%N)
  $ADMIN kill --signal TERM "$NAME" >/dev/null
  exit_code=$($ADMIN wait "$NAME" | tail -1)
  stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  log "SIGTERM -> exit code $exit_code after ${stop_ms} ms"
  [ "$exit_code" = 0 ] || fail "exit code $exit_code after SIGTERM (expected 0)"
  [ "$stop_ms" -le $(( STOP_BUDGET_S * 1000 )) ] || fail "took ${stop_ms} ms to stop (budget ${STOP_BUDGET_S}s)"
}

# ---- 1. the image works -------------------------------------------------------------------------------
start_container

# The article's request, verbatim but for the port.
answer=$(curl -sS -X POST -H "Content-Type: application/json" -d '{"text":"I love using this product!"}' "http://localhost:$PORT/analyze")
log "POST /analyze -> $answer"
node -e '
  const a = JSON.parse(process.argv[1]);
  if (!Array.isArray(a) || a[0]?.label !== "POSITIVE" || !(a[0].score > 0.5)) process.exit(1);
' "$answer" || fail "expected [{\"label\":\"POSITIVE\",\"score\":>0.5}]"
negative=$(curl -sS -X POST -H "Content-Type: application/json" -d '{"text":"This is the worst purchase I have ever made."}' "$BASE/analyze")
node -e 'process.exit(JSON.parse(process.argv[1])[0]?.label === "NEGATIVE" ? 0 : 1)' "$negative" \
  || fail "expected NEGATIVE, got $negative"
for path in /healthz /info /docs/json; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE$path")
  [ "$code" = 200 ] || fail "GET $path -> $code"
done
# DTYPE=auto: the image carries the int8 file and serves it on CPU out of the box.
info=$(curl -sS "$BASE/info")
node -e 'process.exit(JSON.parse(process.argv[1]).model.file === "onnx/model_quantized.onnx" ? 0 : 1)' "$info" \
  || fail "expected /info model.file onnx/model_quantized.onnx, got $info"

# Every metric the alerts and the dashboard query must be exported (histograms by their base name).
curl -sS "$BASE/metrics" >"$WORK/metrics.txt"
missing=0
for m in $(grep -ohE '\b(sentiment|process|nodejs)_[a-z0-9_]+' k8s/components/monitoring/prometheusrule.yaml \
             k8s/platform/monitoring/grafana-dashboard.json | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -q "^# TYPE $m " "$WORK/metrics.txt" || { log "metric $m (used by alerts/dashboard) is not exported"; missing=1; }
done
[ $missing = 0 ] || fail "metrics missing"
log "all metrics used by alerts and dashboard are exported"
stop_container

# ---- 2. accepted requests survive SIGTERM ---------------------------------------------------------------
# The batcher holds texts up to MAX_WAIT_MS for a fuller batch, so the 20 requests sit accepted in the
# queue (sentiment_queue_depth = 20) when SIGTERM arrives: the drain must answer all of them, at once.
start_container -e MAX_WAIT_MS=60000 -e MAX_BATCH_SIZE=64
pids=()
for i in $(seq 1 20); do
  curl -s -o "$WORK/r$i.body" -w '%{http_code}' -X POST -H "Content-Type: application/json" \
    -d '{"text":"I love using this product!"}' "$BASE/analyze" >"$WORK/r$i.code" 2>/dev/null &
  pids+=($!)
done
deadline=$(( $(date +%s) + 30 ))
until curl -s "$BASE/metrics" | grep -qE '^sentiment_queue_depth(\{[^}]*\})? 20$'; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the 20 requests never showed up in sentiment_queue_depth"
  sleep 0.2
done
log "20 requests accepted and queued; sending SIGTERM"
stop_container
for i in "${!pids[@]}"; do
  n=$((i + 1)); rc=0; wait "${pids[$i]}" || rc=$?
  http=$(cat "$WORK/r$n.code" 2>/dev/null || true)
  [ "$rc" = 0 ] && [ "$http" = 200 ] || fail "queued request $n: curl exit $rc, HTTP '$http' (dropped by the shutdown)"
  grep -q '"POSITIVE"' "$WORK/r$n.body" || fail "queued request $n: $(cat "$WORK/r$n.body")"
done
log "all 20 queued requests answered during the drain"
$ADMIN logs "$NAME" 2>&1 | grep -E 'shutting down|shut down' | sed 's/^/    /'

log "PASS ($(( $(date +%s) - started ))s total; image $(( size / 1024 / 1024 )) MiB)"
