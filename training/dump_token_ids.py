"""Writes the Python tokenizer's ids for SST-2 train (both text forms) and dev, for the parity check in Node."""
import json
import sys

from build_tokenizer import read_tsv
from text_normalization import WordPiece, detokenize_sst

tok_dir, train_path, dev_path, out_path = sys.argv[1:5]
vocab = {t: i for i, t in enumerate(open(f"{tok_dir}/vocab.txt", encoding="utf-8").read().split("\n")[:-1])}
wp = WordPiece(vocab)
with open(out_path, "w", encoding="utf-8") as out:
    texts = [t for _, t in read_tsv(train_path)]
    texts += [detokenize_sst(t) for t in texts]
    texts += [t for _, t in read_tsv(dev_path)]
    texts += ["I love using this product!", "This is the worst purchase I have ever made.", "Crème brûlée — 10/10 😀"]
    for t in texts:
        out.write(json.dumps({"text": t, "ids": [vocab["[CLS]"]] + wp.encode(t) + [vocab["[SEP]"]]}) + "\n")
