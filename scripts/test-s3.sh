#!/usr/bin/env bash
# The object-storage tests (npm run test:s3) and measurements (npm run bench:s3) against a real S3-compatible
# server: versitygw (Apache-2.0), built once from the Go module proxy into a cache outside the checkout (reused by
# later runs and clean clones), started on 127.0.0.1 over a temporary directory, stopped by pid at the end.
#   bash scripts/test-s3.sh          the tests (dist/test/s3/*.s3.js)
#   bash scripts/test-s3.sh test FILE...   some of them
#   bash scripts/test-s3.sh bench    the measurements (dist/bench/s3-shards.js)
set -euo pipefail
cd "$(dirname "$0")/.."

version=v1.8.0
dir=${VERSITYGW_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sentiment-inference/versitygw-$version}
if [ ! -x "$dir/versitygw" ]; then
  command -v go >/dev/null || { echo "test:s3 needs Go (https://go.dev/dl) to build versitygw $version" >&2; exit 1; }
  echo "test:s3: building versitygw $version into $dir (once; a few minutes)" >&2
  mkdir -p "$dir"
  GOBIN="$dir" go install "github.com/versity/versitygw/cmd/versitygw@$version"
fi

[ -f dist/src/cli/batch.js ] || npm run build

port=${S3_TEST_PORT:-$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}
data=$(mktemp -d)
log=$(mktemp)
export AWS_ACCESS_KEY_ID=test-access-key AWS_SECRET_ACCESS_KEY=test-secret-key AWS_REGION=us-east-1
ROOT_ACCESS_KEY=$AWS_ACCESS_KEY_ID ROOT_SECRET_KEY=$AWS_SECRET_ACCESS_KEY \
  "$dir/versitygw" --port "127.0.0.1:$port" posix "$data" >"$log" 2>&1 &
server=$!
stop() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data" "$log"
}
trap stop EXIT

export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"
for _ in $(seq 1 100); do
  if node -e 'fetch(process.env.AWS_ENDPOINT_URL_S3).then(()=>process.exit(0),()=>process.exit(1))'; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done

if [ "${1:-test}" = bench ]; then
  shift
  node dist/bench/s3-shards.js "$@"
else
  [ $# -gt 0 ] && shift
  files=("$@")
  [ ${#files[@]} -gt 0 ] || mapfile -t files < <(find dist/test/s3 -name '*.s3.js' | sort)
  node --test --test-concurrency=1 --test-timeout=300000 "${files[@]}"
fi
