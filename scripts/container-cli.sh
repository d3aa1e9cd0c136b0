# Sourced by scripts/test-image.sh and scripts/test-image-gpu.sh: picks the container CLI and sets
#   CLI    build and run go through it as given;
#   ADMIN  the rest (inspect, logs, kill, wait, rm, image exists). A wrapper that only offers build/run plus a
#          `podman` pass-through (../shared/tools/container) gets that.
# CONTAINER_CLI wins; else a docker client with a reachable engine (a client without one, as in this project's CI,
# does not count); else ../shared/tools/container, whose one-time setup (packages, local base images) is run if
# missing. $1: the caller's name, for messages.
if [ -z "${CONTAINER_CLI:-}" ]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then CONTAINER_CLI=docker
  elif [ -x ../shared/tools/container ]; then CONTAINER_CLI=../shared/tools/container
  else echo "$1: no container CLI: install docker or set CONTAINER_CLI" >&2; exit 1
  fi
fi
CLI=$CONTAINER_CLI
ADMIN=$CLI
if [ "$(basename "$CLI")" = container ]; then
  if ! "$CLI" podman image exists docker.io/library/node:24-bookworm-slim 2>/dev/null; then
    echo "[$1] running '$CLI setup' (first use on this machine)"
    "$CLI" setup
  fi
  ADMIN="$CLI podman"
fi
export CONTAINER_CLI
