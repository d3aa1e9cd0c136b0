"""Builds the distillation set: SST-2 train plus augmented copies, each labelled with the averaged class
probabilities of an ensemble of teacher runs (Hinton et al. 2015; augmentation after Tang et al. 2019).

Augmentation (seeded, on the PTB word level, before tokenization):
  - each word: p=0.10 replaced by one of its 8 nearest GloVe neighbours among SST-train words, p=0.05 deleted;
  - p=0.25: keep only a random n-gram (n >= 3) of the result.
Teachers label every augmented copy, so a substitution that flips sentiment ("good" -> "bad") is relabelled
rather than trusted. Also prints each teacher's and the ensemble's dev accuracy.

Usage: /usr/bin/python3 make_distillation_set.py --tokenizer-dir DIR --teachers work/runs/a work/runs/b ... \
         --out work/distill.pt --copies 1 --seed 7
Teachers with a vocabulary of their own (the fine-tuned MiniLM) are given --teacher-tokenizer-dir: they read the
texts through that vocabulary, and the student's ids are still written with --tokenizer-dir's.
"""
import argparse
import json
import random

import numpy as np
import torch

from bert_model import BertConfig, BertForSequenceClassification
from build_tokenizer import read_tsv
from teacher_models import BiLSTMMaxPool, KimCNN
from text_normalization import WordPiece, bert_normalize, bert_pre_tokenize, detokenize_sst
from train import encode_all, load_vocab, predict_logits


def load_teacher(run_dir, vocab_size):
    saved = torch.load(f"{run_dir}/best.pt", map_location="cpu")
    arch = saved.get("arch", "bert")
    config = BertConfig(**saved["config"])
    if arch == "bert":
        model = BertForSequenceClassification(config)
    else:
        model = (KimCNN if arch == "cnn" else BiLSTMMaxPool)(vocab_size, embed_dim=config.hidden_size)
        model.config = config
    model.load_state_dict(saved["state_dict"])
    return model.eval(), saved["metrics"]


def glove_neighbours(vocab, glove, has_glove, candidates, k=8):
    words = [w for w in candidates if w in vocab and has_glove[vocab[w]] and w.isalpha()]
    vectors = torch.tensor(glove[[vocab[w] for w in words]])
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    neighbours = {}
    for start in range(0, len(words), 2048):
        sims = vectors[start: start + 2048] @ vectors.T
        top = sims.topk(k + 1, dim=1).indices[:, 1:]
        for row, w in enumerate(words[start: start + 2048]):
            neighbours[w] = [words[j] for j in top[row].tolist()]
    return neighbours


def augment(words, neighbours, rng):
    out = []
    for w in words:
        r = rng.random()
        if r < 0.10 and w in neighbours:
            out.append(rng.choice(neighbours[w]))
        elif r < 0.15 and len(words) > 2:
            continue
        else:
            out.append(w)
    if len(out) > 4 and rng.random() < 0.25:
        n = rng.randint(3, len(out) - 1)
        start = rng.randint(0, len(out) - n)
        out = out[start: start + n]
    return out or words


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--teachers", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", default="../../shared/data/sst2/train.tsv")
    ap.add_argument("--dev", default="../../shared/data/sst2/dev.tsv")
    ap.add_argument("--glove", default="work/glove_init.npy")
    ap.add_argument("--glove-mask", default="work/glove_mask.npy")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--teacher-tokenizer-dir", default=None,
                    help="the teachers' own vocabulary (default: the student's, --tokenizer-dir)")
    ap.add_argument("--teacher-forms", choices=["ptb", "both"], default="ptb",
                    help="both: average each teacher's probabilities on the PTB and the natural form of each text")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)

    vocab = load_vocab(args.tokenizer_dir)
    wp = WordPiece(vocab)
    cls_id, sep_id = vocab["[CLS]"], vocab["[SEP]"]
    train = list(read_tsv(args.train))
    texts = [t for _, t in train]
    gold = [l for l, _ in train]
    sst_words = sorted({w for t in texts for w in t.split()})
    neighbours = glove_neighbours(vocab, np.load(args.glove), np.load(args.glove_mask), sst_words)
    for _ in range(args.copies):
        for t in [t for _, t in train]:
            words = t.split()
            if len(words) < 3:
                continue
            texts.append(" ".join(augment(words, neighbours, rng)))
            gold.append(-1)

    ptb_ids = encode_all(wp, texts, cls_id, sep_id, args.max_length)
    natural_ids = encode_all(wp, [detokenize_sst(t) for t in texts], cls_id, sep_id, args.max_length)
    dev = list(read_tsv(args.dev))
    dev_gold = torch.tensor([l for l, _ in dev])

    teacher_vocab = load_vocab(args.teacher_tokenizer_dir) if args.teacher_tokenizer_dir else vocab
    teacher_wp = WordPiece(teacher_vocab)
    t_cls, t_sep, t_pad = teacher_vocab["[CLS]"], teacher_vocab["[SEP]"], teacher_vocab["[PAD]"]
    teacher_forms = [encode_all(teacher_wp, texts, t_cls, t_sep, args.max_length)]
    if args.teacher_forms == "both":
        teacher_forms.append(encode_all(teacher_wp, [detokenize_sst(t) for t in texts], t_cls, t_sep, args.max_length))
    teacher_dev_ids = encode_all(teacher_wp, [t for _, t in dev], t_cls, t_sep, args.max_length)

    probs_sum = torch.zeros((len(texts), 2))
    dev_probs_sum = torch.zeros((len(dev), 2))
    report = {"teachers": {}}
    for run_dir in args.teachers:
        model, metrics = load_teacher(run_dir, len(teacher_vocab))
        dev_probs = torch.softmax(predict_logits(model, teacher_dev_ids, t_pad), -1)
        dev_probs_sum += dev_probs
        report["teachers"][run_dir] = round((dev_probs.argmax(-1) == dev_gold).float().mean().item(), 4)
        for form in teacher_forms:
            probs_sum += torch.softmax(predict_logits(model, form, t_pad), -1) / len(teacher_forms)
        print(json.dumps({"teacher": run_dir, "dev_accuracy": report["teachers"][run_dir]}), flush=True)
    probs = probs_sum / len(args.teachers)
    report["ensemble_dev_accuracy"] = round(((dev_probs_sum).argmax(-1) == dev_gold).float().mean().item(), 4)
    labelled = torch.tensor(gold) >= 0
    report["ensemble_train_agreement"] = round(
        (probs[labelled].argmax(-1) == torch.tensor(gold)[labelled]).float().mean().item(), 4)
    report["examples"] = {"train": int(labelled.sum()), "augmented": int((~labelled).sum())}
    torch.save({"ptb_ids": ptb_ids, "natural_ids": natural_ids, "gold": gold, "teacher_probs": probs,
                "texts": texts, "report": report}, args.out)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
