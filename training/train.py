"""Trains the BERT classifier on SST-2 train from scratch (embeddings seeded with GloVe), selects the epoch on dev.

Usage: /usr/bin/python3 train.py --tokenizer-dir DIR --run-dir work/runs/NAME --seed 1
Writes RUN_DIR/best.pt (state dict + config + metrics) and RUN_DIR/log.jsonl.
"""
import argparse
import json
import math
import os
import random
import time
from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from bert_model import BertConfig, BertForSequenceClassification
from build_tokenizer import read_tsv
from text_normalization import WordPiece, detokenize_sst


def load_vocab(tokenizer_dir):
    return {t: i for i, t in enumerate(open(f"{tokenizer_dir}/vocab.txt", encoding="utf-8").read().split("\n")[:-1])}


def encode_all(wp, texts, cls_id, sep_id, max_len):
    return [[cls_id] + wp.encode(t)[: max_len - 2] + [sep_id] for t in texts]


def make_batch(seqs, pad_id):
    longest = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), longest), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask, torch.zeros_like(ids)


@torch.no_grad()
def predict_logits(model, seqs, pad_id, batch_size=256):
    model.eval()
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    out = torch.zeros((len(seqs), model.config.num_labels))
    for start in range(0, len(order), batch_size):
        idx = order[start: start + batch_size]
        ids, mask, types = make_batch([seqs[i] for i in idx], pad_id)
        out[idx] = model(ids, mask, types)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--train", default="../../shared/data/sst2/train.tsv")
    ap.add_argument("--dev", default="../../shared/data/sst2/dev.tsv")
    ap.add_argument("--glove", default="work/glove_init.npy")
    ap.add_argument("--glove-mask", default="work/glove_mask.npy")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=float, default=0.06)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--embeddings", choices=["frozen-glove", "finetune"], default="frozen-glove")
    ap.add_argument("--token-dropout", type=float, default=0.0, help="probability of deleting each word piece")
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--natural-form-prob", type=float, default=0.5,
                    help="probability of training on the de-tokenized (natural) form of a phrase")
    ap.add_argument("--teacher-logits", default=None, help=".npy of teacher logits for train (distillation)")
    ap.add_argument("--distill-weight", type=float, default=0.0)
    ap.add_argument("--distill-temperature", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    os.makedirs(args.run_dir, exist_ok=True)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    vocab = load_vocab(args.tokenizer_dir)
    pad_id, cls_id, sep_id = vocab["[PAD]"], vocab["[CLS]"], vocab["[SEP]"]
    wp = WordPiece(vocab)
    train = list(read_tsv(args.train))
    labels = torch.tensor([l for l, _ in train])
    ptb_form = encode_all(wp, [t for _, t in train], cls_id, sep_id, args.max_length)
    natural_form = encode_all(wp, [detokenize_sst(t) for _, t in train], cls_id, sep_id, args.max_length)
    dev = list(read_tsv(args.dev))
    dev_labels = torch.tensor([l for l, _ in dev])
    dev_ptb = encode_all(wp, [t for _, t in dev], cls_id, sep_id, args.max_length)
    dev_natural = encode_all(wp, [detokenize_sst(t) for _, t in dev], cls_id, sep_id, args.max_length)
    teacher = torch.tensor(np.load(args.teacher_logits)) if args.teacher_logits else None

    config = BertConfig(vocab_size=len(vocab), hidden_size=args.hidden, num_hidden_layers=args.layers,
                        num_attention_heads=args.heads, intermediate_size=args.intermediate,
                        max_position_embeddings=args.max_length, hidden_dropout_prob=args.dropout,
                        attention_probs_dropout_prob=args.dropout, pad_token_id=pad_id)
    model = BertForSequenceClassification(config)
    glove = torch.tensor(np.load(args.glove))
    has_glove = torch.tensor(np.load(args.glove_mask))
    emb = model.bert.embeddings.word_embeddings.weight
    with torch.no_grad():
        emb[has_glove] = 0.0
        emb[has_glove, : glove.shape[1]] = glove[has_glove]
    if args.embeddings == "frozen-glove":
        # GloVe rows stay where GloVe put them, so words SST never saw keep vectors consistent with the ones it did.
        frozen_rows = has_glove.clone().unsqueeze(1).float()
        emb.register_hook(lambda g: g * (1.0 - frozen_rows))

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if ("LayerNorm" in name or name.endswith(".bias") or "word_embeddings" in name) else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup_steps = int(total_steps * args.warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, warmup_steps)) * max(0.0, (total_steps - s) / total_steps))
    ce = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    rng = random.Random(args.seed)

    best = {"dev_accuracy": -1.0}
    log = open(os.path.join(args.run_dir, "log.jsonl"), "w")
    started = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = list(range(len(train)))
        rng.shuffle(order)
        seqs = [natural_form[i] if rng.random() < args.natural_form_prob else ptb_form[i] for i in range(len(train))]
        if args.token_dropout > 0:
            seqs = [[s[0]] + [t for t in s[1:-1] if rng.random() >= args.token_dropout] + [s[-1]] for s in seqs]
        # Length-grouped batches inside shuffled chunks: little padding, still random.
        chunk = args.batch_size * 50
        batches = []
        for c in range(0, len(order), chunk):
            part = sorted(order[c: c + chunk], key=lambda i: len(seqs[i]))
            batches += [part[b: b + args.batch_size] for b in range(0, len(part), args.batch_size)]
        rng.shuffle(batches)
        total_loss = 0.0
        for idx in batches:
            ids, mask, types = make_batch([seqs[i] for i in idx], pad_id)
            logits = model(ids, mask, types)
            loss = ce(logits, labels[idx])
            if teacher is not None and args.distill_weight > 0:
                t = args.distill_temperature
                soft = torch.softmax(teacher[idx] / t, dim=-1)
                kd = -(soft * torch.log_softmax(logits / t, dim=-1)).sum(-1).mean() * t * t
                loss = (1 - args.distill_weight) * loss + args.distill_weight * kd
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(idx)
        dev_acc = (predict_logits(model, dev_ptb, pad_id).argmax(-1) == dev_labels).float().mean().item()
        dev_nat = (predict_logits(model, dev_natural, pad_id).argmax(-1) == dev_labels).float().mean().item()
        row = {"epoch": epoch, "train_loss": total_loss / len(train), "dev_accuracy": dev_acc,
               "dev_accuracy_natural_form": dev_nat, "elapsed_s": round(time.time() - started, 1)}
        print(json.dumps(row), flush=True)
        log.write(json.dumps(row) + "\n")
        log.flush()
        if dev_acc > best["dev_accuracy"]:
            best = dict(row)
            torch.save({"state_dict": model.state_dict(), "config": asdict(config), "metrics": best,
                        "args": vars(args)}, os.path.join(args.run_dir, "best.pt"))
    print(json.dumps({"best": best}), flush=True)


if __name__ == "__main__":
    main()
