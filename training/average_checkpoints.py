"""Averages the weights of fine-tuned checkpoints of the same architecture and pretrained start ("model soup",
Wortsman et al., 2022): runs from one pretrained encoder that differ in seed and schedule usually sit in one basin,
and their average tends to generalize at least as well as either. Writes a best.pt that export_model.py reads.
   usage: python average_checkpoints.py --out RUN_DIR/best.pt CHECKPOINT [CHECKPOINT ...]
"""
import argparse
import os

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    loaded = [torch.load(path) for path in args.checkpoints]
    first = loaded[0]
    for other, path in zip(loaded[1:], args.checkpoints[1:]):
        assert other["config"] == first["config"] and other["arch"] == first["arch"], f"{path}: another architecture"
    state = {name: torch.stack([c["state_dict"][name].float() for c in loaded]).mean(0).to(tensor.dtype)
             for name, tensor in first["state_dict"].items()}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    torch.save({**first, "state_dict": state, "metrics": {"averaged": args.checkpoints},
                "args": {**first["args"], "averaged": args.checkpoints}}, args.out)
    print({"averaged": args.checkpoints, "out": args.out})


if __name__ == "__main__":
    main()
