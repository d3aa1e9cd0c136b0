# Sourced by .ci/run: puts the Node.js major that .nvmrc names first on PATH. When this machine's node is another
# major, the npm registry's node-<platform>-<arch> package of that major is installed once into a cache outside the
# clone (SENTIMENT_CI_CACHE, default ~/.cache/sentiment-inference) and reused from there without the network.
node_major="$(tr -d '[:space:]v' <.nvmrc)"
if [[ "$(node --version 2>/dev/null)" != "v${node_major}."* ]]; then
  node_package="node-$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m | sed -e 's/x86_64/x64/' -e 's/aarch64/arm64/')"
  node_prefix="${SENTIMENT_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sentiment-inference}/node-${node_major}"
  node_bin="${node_prefix}/node_modules/${node_package}/bin"
  if [[ ! -x "${node_bin}/node" ]]; then
    mkdir -p "${node_prefix}"
    npm install --prefix "${node_prefix}" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "${node_package}@${node_major}"
  fi
  export PATH="${node_bin}:${PATH}"
fi
echo "node $(node --version), npm $(npm --version)"
