"""Builds bench/data/sentences.txt, the benchmark's texts, one per line (shipped; rebuild only to change the mix).

- Every SST-2 dev sentence (872), turned back from PTB tokens into the way people write ("it 's" -> "it's").
- 48 longer, multi-sentence texts (3 to 10 full sentences each, like a short review), drawn from SST-2 train
  sentences, so lengths run from a few tokens to a few hundred as real traffic does.
The order is shuffled once with a fixed seed; the load generator and the compute ceiling both read it in this order.

Usage (from the repository root): /usr/bin/python3 bench/data/build_sentences.py
"""
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "training"))

from build_tokenizer import read_tsv  # noqa: E402
from text_normalization import detokenize_sst  # noqa: E402

SST2 = os.path.join(ROOT, "..", "shared", "data", "sst2")
OUT = os.path.join(ROOT, "bench", "data", "sentences.txt")
LONG_TEXTS = 48
SEED = 4


def written(text):
    text = detokenize_sst(text)
    return text[:1].upper() + text[1:]


def main():
    rng = random.Random(SEED)
    dev = [written(t) for _, t in read_tsv(os.path.join(SST2, "dev.tsv"))]
    # Train rows are phrases of every size; whole sentences are the long ones that end like a sentence.
    sentences = sorted({written(t) for _, t in read_tsv(os.path.join(SST2, "train.tsv"))
                        if len(t.split()) >= 12 and t.rstrip().endswith((".", "!", "?"))})
    long_texts = [" ".join(rng.sample(sentences, rng.randint(3, 10))) for _ in range(LONG_TEXTS)]
    texts = dev + long_texts
    rng.shuffle(texts)
    assert all("\n" not in t and t.strip() for t in texts)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
    words = sorted(len(t.split()) for t in texts)
    print(f"{OUT}: {len(texts)} texts, words min {words[0]} median {words[len(words) // 2]} "
          f"p95 {words[int(len(words) * 0.95)]} max {words[-1]}")


if __name__ == "__main__":
    main()
