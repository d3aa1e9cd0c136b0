"""Generates the DistilBERT-size benchmark model: BERT with 6 layers x 768 hidden, 12 heads, 3072 intermediate,
512 positions, random weights, in the same Hugging Face layout as models/sst2-tiny-bert (config.json,
model.safetensors, onnx/model.onnx, our tokenizer files). It exists so batching is measured where compute dominates;
its predictions mean nothing. Written to a cache directory (never committed); does nothing if already there.

Reuses the training pipeline's model and exporter (training/bert_model.py, training/export_model.py), so the graph
is exported exactly like the embedded model's.

Usage: /usr/bin/python3 bench/make_bench_model.py [--out .cache/bench-models/bert-6x768] [--force]
Needs python3 with torch and onnx (Debian: python3-torch, python3-onnx).
"""
import argparse
import json
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "training"))

import torch  # noqa: E402

from bert_model import BertConfig, BertForSequenceClassification  # noqa: E402
from export_model import TOKENIZER_FILES, export_onnx, hf_config, write_safetensors  # noqa: E402

TOKENIZER_DIR = os.path.join(ROOT, "models", "sst2-tiny-bert")
SHAPE = dict(hidden_size=768, num_hidden_layers=6, num_attention_heads=12, intermediate_size=3072,
             max_position_embeddings=512)
STAMP = "bench-model.json"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, ".cache", "bench-models", "bert-6x768"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    vocab_size = sum(1 for _ in open(os.path.join(TOKENIZER_DIR, "vocab.txt"), encoding="utf-8"))
    wanted = {"shape": SHAPE, "vocab_size": vocab_size, "seed": args.seed}
    stamp = os.path.join(args.out, STAMP)
    if not args.force and os.path.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == wanted:
                print(json.dumps({"bench_model": args.out, "status": "cached"}))
                return

    torch.manual_seed(args.seed)
    config = BertConfig(vocab_size=vocab_size, **SHAPE)
    model = BertForSequenceClassification(config)
    model.eval()
    with torch.no_grad():
        # As export_model.py does: one set of numbers, float16-exact, in both the safetensors and the ONNX file.
        for p in model.parameters():
            p.copy_(p.to(torch.float16).to(torch.float32))

    tmp = args.out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(os.path.join(tmp, "onnx"))
    for name in TOKENIZER_FILES:
        shutil.copy(os.path.join(TOKENIZER_DIR, name), os.path.join(tmp, name))
    # Our tokenizer declares the embedded model's 128 positions; this model has DistilBERT's 512.
    tokenizer_config_path = os.path.join(tmp, "tokenizer_config.json")
    with open(tokenizer_config_path) as f:
        tokenizer_config = json.load(f)
    tokenizer_config["model_max_length"] = SHAPE["max_position_embeddings"]
    with open(tokenizer_config_path, "w") as f:
        json.dump(tokenizer_config, f, indent=2)
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(hf_config(config), f, indent=2)
    write_safetensors(os.path.join(tmp, "model.safetensors"), model.state_dict(), {"format": "pt"})
    export_onnx(model, os.path.join(tmp, "onnx", "model.onnx"))
    with open(os.path.join(tmp, STAMP), "w") as f:
        json.dump(wanted, f)
    shutil.rmtree(args.out, ignore_errors=True)
    os.replace(tmp, args.out)
    print(json.dumps({"bench_model": args.out, "status": "generated",
                      "parameters": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
