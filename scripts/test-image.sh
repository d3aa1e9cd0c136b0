#!/usr/bin/env bash
# Builds the CPU image and proves it: starts it the way Kubernetes runs it (read-only root filesystem,
# writable /tmp only, all capabilities dropped, the image's own non-root user), waits for /readyz, runs the
# article's curl against /analyze, checks that the metrics the alerts and dashboard use are exported,
# sends SIGTERM during a burst of requests, and checks that every accepted request was answered and the
# process exited 0 within its drain budget.
#
#   npm run test:image                       # docker
#   CONTAINER_CLI=podman npm run test:image  # any docker-compatible CLI
#
# Variables: CONTAINER_CLI (default: docker; if docker is absent and ../shared/tools/container exists,
# that one), IMAGE (default sentiment-inference:test), TEST_PORT (default 5055; the container publishes it
# with -p, or binds it directly on host-network runtimes), READY_TIMEOUT_S (default 300),
# STOP_BUDGET_S (default 15: SHUTDOWN_TIMEOUT_MS 10 s + margin), SKIP_BUILD=1 to reuse IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CONTAINER_CLI:-}" ]; then
  if command -v docker >/dev/null 2>&1; then CONTAINER_CLI=docker
  elif [ -x ../shared/tools/container ]; then CONTAINER_CLI=../shared/tools/container
  else echo "test-image: no container CLI: install docker or set CONTAINER_CLI" >&2; exit 1
  fi
fi
CLI=$CONTAINER_CLI
IMAGE=${IMAGE:-sentiment-inference:test}
PORT=${TEST_PORT:-5055}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}
STOP_BUDGET_S=${STOP_BUDGET_S:-15}
NAME=sentiment-image-test-$$
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
started=$(date +%s)

log() { printf '[test-image %3ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { log "FAIL: $*"; log "container logs:"; $CLI logs "$NAME" 2>&1 | tail -50 || true; exit 1; }
cleanup() { $CLI rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

command -v curl >/dev/null || { echo "test-image: curl is required" >&2; exit 1; }
if curl -s -o /dev/null "$BASE/healthz"; then
  echo "test-image: something already listens on port $PORT; set TEST_PORT" >&2; exit 1
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  log "building $IMAGE with $CLI"
  $CLI build -t "$IMAGE" -f Dockerfile . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "image build failed"; }
fi
size=$($CLI image inspect --format '{{.Size}}' "$IMAGE")
user=$($CLI image inspect --format '{{.Config.User}}' "$IMAGE")
log "image $IMAGE: $(( size / 1024 / 1024 )) MiB, user '$user'"
case "$user" in ''|0|0:*|root|root:*) fail "image runs as root (USER '$user')";; esac

log "starting container on port $PORT"
$CLI run -d --name "$NAME" -p "$PORT:$PORT" -e PORT="$PORT" \
  --read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges \
  "$IMAGE" >/dev/null

running() { [ "$($CLI inspect --format '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; }
deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; do
  running || fail "container exited before it was ready"
  [ "$(date +%s)" -lt "$deadline" ] || fail "not ready after ${READY_TIMEOUT_S}s"
  sleep 1
done
log "ready"

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

# Every metric the alerts and the dashboard query must be exported (histograms by their base name).
curl -sS "$BASE/metrics" >"$WORK/metrics.txt"
missing=0
for m in $(grep -ohE '\b(sentiment|process|nodejs)_[a-z0-9_]+' k8s/components/monitoring/prometheusrule.yaml \
             k8s/components/monitoring/grafana-dashboard.json | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -q "^# TYPE $m " "$WORK/metrics.txt" || { log "metric $m (used by alerts/dashboard) is not exported"; missing=1; }
done
[ $missing = 0 ] || fail "metrics missing"
log "all metrics used by alerts and dashboard are exported"

# Graceful shutdown: requests in flight when SIGTERM arrives are answered; new ones may get 503 or a
# refused connection, but none may be cut off mid-response.
pids=()
for i in $(seq 1 20); do
  curl -s -o "$WORK/r$i.body" -w '%{http_code}' -X POST -H "Content-Type: application/json" \
    -d '{"text":"I love using this product!"}' "$BASE/analyze" >"$WORK/r$i.code" 2>/dev/null &
  pids+=($!)
done
sleep 0.05
t0=$(date +%s%N)
$CLI kill --signal TERM "$NAME" >/dev/null
code=$($CLI wait "$NAME" | tail -1)
elapsed_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok=0; refused=0; draining=0
for i in "${!pids[@]}"; do
  n=$((i + 1)); rc=0; wait "${pids[$i]}" || rc=$?
  http=$(cat "$WORK/r$n.code" 2>/dev/null || true)
  if [ "$rc" = 0 ] && [ "$http" = 200 ]; then ok=$((ok + 1))
  elif [ "$rc" = 0 ] && [ "$http" = 503 ]; then draining=$((draining + 1))
  elif [ "$rc" = 7 ]; then refused=$((refused + 1))
  else fail "request $n during shutdown: curl exit $rc, HTTP '$http' (cut off?)"
  fi
done
log "SIGTERM during 20 requests: $ok answered, $draining refused with 503, $refused not connected"
log "exit code $code after ${elapsed_ms} ms"
[ "$code" = 0 ] || fail "exit code $code after SIGTERM (expected 0)"
[ "$elapsed_ms" -le $(( STOP_BUDGET_S * 1000 )) ] || fail "took ${elapsed_ms} ms to stop (budget ${STOP_BUDGET_S}s)"

log "PASS ($(( $(date +%s) - started ))s total; image $(( size / 1024 / 1024 )) MiB)"
