#!/usr/bin/env bash
# Builds the CPU model server image (triton/Dockerfile) and proves it, started the way Kubernetes runs it (read-only
# root filesystem, writable /tmp and /dev/shm only, all capabilities dropped, the image's non-root user):
# Triton reports ready, publishes the model under the service's name with the documented tensors, answers an
# inference over its HTTP API (token ids of "i love this" -> POSITIVE logit ahead) and over gRPC (ServerReady,
# ModelReady, ModelInfer, as the service calls it), and exits 0 on SIGTERM.
#
#   npm run test:image:triton
#
# Variables: CONTAINER_CLI (as scripts/test-image.sh), IMAGE (default sentiment-triton:test), TEST_HTTP_PORT and
# TEST_GRPC_PORT (default 8100 and 8101; host-network runtimes bind them directly), READY_TIMEOUT_S (default 300),
# STOP_BUDGET_S (default 40: Triton's own exit timeout is 30 s), SKIP_BUILD=1 to reuse IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/container-cli.sh
source scripts/container-cli.sh test-image-triton
IMAGE=${IMAGE:-sentiment-triton:test}
HTTP_PORT=${TEST_HTTP_PORT:-8100}
GRPC_PORT=${TEST_GRPC_PORT:-8101}
READY_TIMEOUT_S=${READY_TIMEOUT_S:-300}
STOP_BUDGET_S=${STOP_BUDGET_S:-40}
MODEL=sst2-minilm-l6
NAME=sentiment-triton-test-$$
BASE=http://127.0.0.1:$HTTP_PORT
WORK=$(mktemp -d)
started=$(date +%s)
log() { printf '[test-image-triton %3ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { log "FAIL: $*"; $ADMIN logs "$NAME" 2>&1 | tail -40 || true; exit 1; }
cleanup() { $ADMIN rm -f "$NAME" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

if curl -s -o /dev/null "$BASE/v2/health/live"; then
  echo "test-image-triton: something already listens on port $HTTP_PORT; set TEST_HTTP_PORT" >&2; exit 1
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  t0=$(date +%s)
  log "building $IMAGE from triton/Dockerfile with $CLI"
  $CLI build -t "$IMAGE" -f triton/Dockerfile . >"$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; fail "image build failed"; }
  log "built in $(( $(date +%s) - t0 ))s"
fi
size=$($ADMIN image inspect --format '{{.Size}}' "$IMAGE")
user=$($ADMIN image inspect --format '{{.Config.User}}' "$IMAGE")
log "image $IMAGE: $(( size / 1024 / 1024 )) MiB, user '$user'"
case "$user" in ''|0|0:*|root|root:*) fail "image runs as root (USER '$user')";; esac

$CLI run -d --name "$NAME" -p "$HTTP_PORT:$HTTP_PORT" -p "$GRPC_PORT:$GRPC_PORT" \
  -e TRITON_HTTP_PORT="$HTTP_PORT" -e TRITON_GRPC_PORT="$GRPC_PORT" -e TRITON_METRICS_PORT=off \
  --read-only --tmpfs /tmp --shm-size 256m --cap-drop ALL --security-opt no-new-privileges "$IMAGE" >/dev/null
deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v2/health/ready")" = 200 ]; do
  [ "$($ADMIN inspect --format '{{.State.Running}}' "$NAME")" = true ] || fail "exited before it was ready"
  [ "$(date +%s)" -lt "$deadline" ] || fail "not ready after ${READY_TIMEOUT_S}s"
  sleep 1
done
log "ready"

metadata=$(curl -sf "$BASE/v2/models/$MODEL") || fail "no model $MODEL"
expected='{"name":"sst2-minilm-l6","versions":["1"],"platform":"python","inputs":[{"name":"input_ids","datatype":"INT64","shape":[-1,-1]},{"name":"attention_mask","datatype":"INT64","shape":[-1,-1]},{"name":"token_type_ids","datatype":"INT64","shape":[-1,-1]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,2]}]}'
[ "$metadata" = "$expected" ] || fail "model metadata: $metadata"
log "model metadata as documented"

# [CLS] i love this [SEP] (the model's vocab.txt); token_type_ids left out: it is optional.
request='{"inputs":[{"name":"input_ids","datatype":"INT64","shape":[1,5],"data":[101,1045,2293,2023,102]},{"name":"attention_mask","datatype":"INT64","shape":[1,5],"data":[1,1,1,1,1]}]}'
answer=$(curl -sf -H 'content-type: application/json' -d "$request" "$BASE/v2/models/$MODEL/infer") || fail "inference failed"
logits=$(printf '%s' "$answer" | sed -nE 's/.*"data":\[([^]]*)\].*/\1/p')
log "logits for 'i love this': [$logits]"
awk -F, -v l="$logits" 'BEGIN { split(l, v, ","); exit !(v[2] > v[1]) }' || fail "POSITIVE is not ahead: $answer"

# The service's own path: gRPC (Open Inference Protocol), from inside the container with the image's pinned
# tritonclient: ServerReady, ModelReady, one inference of the same ids.
grpc_check='
import sys
import numpy as np
import tritonclient.grpc as grpc
client = grpc.InferenceServerClient(sys.argv[1])
assert client.is_server_ready(), "ServerReady: not ready"
assert client.is_model_ready(sys.argv[2]), "ModelReady: not ready"
ids = np.array([[101, 1045, 2293, 2023, 102]], dtype=np.int64)
inputs = [grpc.InferInput(name, [1, 5], "INT64") for name in ("input_ids", "attention_mask")]
inputs[0].set_data_from_numpy(ids)
inputs[1].set_data_from_numpy(np.ones_like(ids))
logits = client.infer(sys.argv[2], inputs).as_numpy("logits")
assert logits.shape == (1, 2) and logits[0, 1] > logits[0, 0], logits
print(logits[0].tolist())
'
grpc_logits=$($ADMIN exec "$NAME" /opt/triton-venv/bin/python -c "$grpc_check" "127.0.0.1:$GRPC_PORT" "$MODEL" 2>&1) \
  || fail "gRPC check: $grpc_logits"
log "gRPC: ServerReady, ModelReady, logits $grpc_logits"

t0=$(date +%s%N)
$ADMIN kill --signal TERM "$NAME" >/dev/null
code=$($ADMIN wait "$NAME" | tail -1)
stop_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "SIGTERM -> exit code $code after ${stop_ms} ms"
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
[ "$stop_ms" -le $(( STOP_BUDGET_S * 1000 )) ] || fail "took ${stop_ms} ms to stop"
log "PASS ($(( $(date +%s) - started ))s total; image $(( size / 1024 / 1024 )) MiB)"
