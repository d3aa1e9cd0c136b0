"""Trains the BERT classifier on SST-2 train from scratch (embeddings seeded with GloVe), selects the epoch on dev.

Usage: /usr/bin/python3 train.py --tokenizer-dir DIR --run-dir work/runs/NAME --seed 1
Writes RUN_DIR/best.pt (state dict + config + metrics) and RUN_DIR/log.jsonl.
"""
import argparse
import copy
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
from negation_augment import negation_examples
from teacher_models import BiLSTMMaxPool, KimCNN
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


def pretrained_config(hf_dir, dropout, pad_id):
    c = json.load(open(os.path.join(hf_dir, "config.json")))
    assert c["model_type"] == "bert" and c.get("hidden_act", "gelu") == "gelu", c
    return BertConfig(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
                      num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
                      intermediate_size=c["intermediate_size"], max_position_embeddings=c["max_position_embeddings"],
                      type_vocab_size=c["type_vocab_size"], hidden_dropout_prob=dropout,
                      attention_probs_dropout_prob=dropout, layer_norm_eps=c["layer_norm_eps"], pad_token_id=pad_id)


def load_pretrained(model, hf_dir):
    """Encoder and pooler from a BertModel checkpoint; the classifier head starts fresh."""
    tensors = read_safetensors(os.path.join(hf_dir, "model.safetensors"))
    state = {k: v for k, v in tensors.items() if not k.endswith("position_ids")}
    missing, unexpected = model.bert.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)


def read_safetensors(path):
    import struct
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=dtypes[meta["dtype"]]).reshape(meta["shape"])
        out[name] = torch.tensor(array.astype(np.float32) if meta["dtype"] == "F16" else array.copy())
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
    ap.add_argument("--arch", choices=["bert", "cnn", "bilstm"], default="bert",
                    help="bert is the shipped student; cnn and bilstm are ensemble teachers only")
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
    ap.add_argument("--distill-set", default=None,
                    help="file from make_distillation_set.py: train + augmented copies with teacher probabilities")
    ap.add_argument("--distill-weight", type=float, default=0.7,
                    help="weight of the teacher term on gold-labelled rows (augmented rows have only that term)")
    ap.add_argument("--glove-std", type=float, default=0.1,
                    help="GloVe rows are rescaled to this per-dimension standard deviation (raw GloVe is ~0.4), "
                         "and position embeddings start at the same scale, so word identity does not drown "
                         "position information at initialisation")
    ap.add_argument("--eval-every", type=int, default=250, help="evaluate on dev every N optimizer steps")
    ap.add_argument("--ema", type=float, default=0.999, help="evaluate and keep an exponential moving average "
                    "of the weights (0 disables)")
    ap.add_argument("--group-by-length", type=int, default=1,
                    help="1: batches of similar length inside shuffled chunks (fast); 0: plain random batches")
    ap.add_argument("--long-oversample", type=int, default=0,
                    help="extra copies per epoch of phrases with >= --long-words words: dev/real sentences are long, "
                         "most SST-2 train phrases are short")
    ap.add_argument("--long-words", type=int, default=15)
    ap.add_argument("--concat-fraction", type=float, default=0.0,
                    help="per epoch, add this fraction of synthetic examples: two same-label phrases of >= 5 words "
                         "joined into one sequence, so long inputs are seen often")
    ap.add_argument("--contrast-fraction", type=float, default=0.0,
                    help="per epoch, add this fraction of synthetic 'A , but B' examples (A and B train phrases of "
                         "opposite labels) labelled like B: in English the clause after 'but' usually carries the verdict")
    ap.add_argument("--negation-per-word", type=int, default=0,
                    help="negated frames per polar adjective of train, label flipped (negation_augment.py)")
    ap.add_argument("--negation-repeat", type=int, default=1, help="copies of the negation examples per epoch")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0,
                    help="stop after this many optimizer steps (the schedule still spans --epochs); 0: no limit")
    ap.add_argument("--init-checkpoint", default=None,
                    help="encoder weights from pretrain_mlm.py to start from (BERT only; replaces the GloVe seeding)")
    ap.add_argument("--continue-from", default=None,
                    help="best.pt of an earlier run with the same architecture: all its weights, head included, "
                    "are the starting point (after --init-hf-dir)")
    ap.add_argument("--init-hf-dir", default=None,
                    help="a pretrained Hugging Face BERT directory (config.json + model.safetensors) to fine-tune: "
                         "its architecture and weights replace --layers/--hidden/... and the GloVe seeding")
    ap.add_argument("--anchor-weight", type=float, default=0.0,
                    help="decoupled decay of fine-tuned GloVe rows toward their initial vectors (per unit of learning "
                         "rate), so words SST saw stay in the same space as the GloVe words it never saw")
    args = ap.parse_args()

    os.makedirs(args.run_dir, exist_ok=True)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    vocab = load_vocab(args.tokenizer_dir)
    pad_id, cls_id, sep_id = vocab["[PAD]"], vocab["[CLS]"], vocab["[SEP]"]
    wp = WordPiece(vocab)
    if args.distill_set:
        distill = torch.load(args.distill_set)
        ptb_form, natural_form = distill["ptb_ids"], distill["natural_ids"]
        labels = torch.tensor(distill["gold"])
        teacher_probs = distill["teacher_probs"]
    else:
        train = list(read_tsv(args.train))
        if args.negation_per_word > 0:
            train += negation_examples(train, args.negation_per_word, args.seed) * args.negation_repeat
        labels = torch.tensor([l for l, _ in train])
        ptb_form = encode_all(wp, [t for _, t in train], cls_id, sep_id, args.max_length)
        natural_form = encode_all(wp, [detokenize_sst(t) for _, t in train], cls_id, sep_id, args.max_length)
        teacher_probs = None
    train_size = len(ptb_form)
    words_of = [len(s) - 2 for s in ptb_form]  # word pieces, a close proxy for words here
    long_rows = [i for i in range(train_size) if words_of[i] >= args.long_words]
    concat_rows = [i for i in range(train_size) if words_of[i] >= 5 and int(labels[i]) >= 0]
    dev = list(read_tsv(args.dev))
    dev_labels = torch.tensor([l for l, _ in dev])
    dev_ptb = encode_all(wp, [t for _, t in dev], cls_id, sep_id, args.max_length)
    dev_natural = encode_all(wp, [detokenize_sst(t) for _, t in dev], cls_id, sep_id, args.max_length)

    if args.init_hf_dir:
        config = pretrained_config(args.init_hf_dir, args.dropout, pad_id)
    else:
        config = BertConfig(vocab_size=len(vocab), hidden_size=args.hidden, num_hidden_layers=args.layers,
                            num_attention_heads=args.heads, intermediate_size=args.intermediate,
                            max_position_embeddings=args.max_length, hidden_dropout_prob=args.dropout,
                            attention_probs_dropout_prob=args.dropout, pad_token_id=pad_id)
    if args.arch == "bert":
        model = BertForSequenceClassification(config)
        emb = model.bert.embeddings.word_embeddings.weight
    else:
        model = (KimCNN if args.arch == "cnn" else BiLSTMMaxPool)(len(vocab), embed_dim=args.hidden)
        model.config = config
        emb = model.word_embeddings.weight
    if args.init_hf_dir:
        load_pretrained(model, args.init_hf_dir)
        has_glove = torch.zeros(config.vocab_size, dtype=torch.bool)
    else:
        glove = torch.tensor(np.load(args.glove))
        has_glove = torch.tensor(np.load(args.glove_mask))
        glove = glove * (args.glove_std / glove[has_glove].std())
        with torch.no_grad():
            emb[has_glove] = 0.0
            emb[has_glove, : glove.shape[1]] = glove[has_glove]
            if args.arch == "bert":
                model.bert.embeddings.position_embeddings.weight.normal_(0.0, args.glove_std)
    if args.continue_from:
        # A second pass over train at a lower rate, starting from an earlier run's selected (EMA) weights.
        model.load_state_dict(torch.load(args.continue_from)["state_dict"])
    if args.init_checkpoint:
        pretrained = torch.load(args.init_checkpoint)["encoder"]
        missing, unexpected = model.bert.load_state_dict(pretrained, strict=False)
        assert not unexpected and all(k.startswith("pooler") for k in missing), (missing, unexpected)
    anchor_rows = emb.detach()[has_glove].clone()
    if args.embeddings == "frozen-glove":
        # GloVe rows stay where GloVe put them, so words SST never saw keep vectors consistent with the ones it did.
        frozen_rows = has_glove.clone().unsqueeze(1).float()
        emb.register_hook(lambda g: g * (1.0 - frozen_rows))

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if ("LayerNorm" in name or name.endswith(".bias") or "word_embeddings" in name) else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    epoch_size = train_size + len(long_rows) * args.long_oversample \
        + int((args.concat_fraction + args.contrast_fraction) * train_size)
    steps_per_epoch = math.ceil(epoch_size / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup_steps = int(total_steps * args.warmup)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, warmup_steps)) * max(0.0, (total_steps - s) / total_steps))
    ce = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    rng = random.Random(args.seed)

    ema_model = model
    if args.ema > 0:
        ema_model = copy.deepcopy(model)
        for p in ema_model.parameters():
            p.requires_grad_(False)

    def evaluate(epoch, step, train_loss):
        dev_acc = (predict_logits(ema_model, dev_ptb, pad_id).argmax(-1) == dev_labels).float().mean().item()
        dev_nat = (predict_logits(ema_model, dev_natural, pad_id).argmax(-1) == dev_labels).float().mean().item()
        model.train()
        return {"epoch": epoch, "step": step, "train_loss": train_loss, "dev_accuracy": dev_acc,
                "dev_accuracy_natural_form": dev_nat, "elapsed_s": round(time.time() - started, 1)}

    best = {"dev_accuracy": -1.0}
    step = 0
    log = open(os.path.join(args.run_dir, "log.jsonl"), "w")
    started = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        seqs = [natural_form[i] if rng.random() < args.natural_form_prob else ptb_form[i] for i in range(train_size)]
        epoch_labels = labels.tolist()
        epoch_teacher = teacher_probs.tolist() if teacher_probs is not None else None
        extra = [i for i in long_rows for _ in range(args.long_oversample)]
        for _ in range(int(args.concat_fraction * train_size)):
            a, b = rng.choice(concat_rows), rng.choice(concat_rows)
            while epoch_labels[b] != epoch_labels[a]:
                b = rng.choice(concat_rows)
            seqs.append((seqs[a][:-1] + seqs[b][1:])[: args.max_length - 1] + [sep_id])
            epoch_labels.append(epoch_labels[a])
            if epoch_teacher is not None:
                epoch_teacher.append([(x + y) / 2 for x, y in zip(epoch_teacher[a], epoch_teacher[b])])
        but_ids = wp.encode("but")
        comma_ids = wp.encode(",")
        for _ in range(int(args.contrast_fraction * train_size)):
            a = rng.choice(concat_rows)
            b = rng.choice(concat_rows)
            while epoch_labels[b] == epoch_labels[a]:
                b = rng.choice(concat_rows)
            seqs.append((seqs[a][:-1] + comma_ids + but_ids + seqs[b][1:])[: args.max_length - 1] + [sep_id])
            epoch_labels.append(epoch_labels[b])
            if epoch_teacher is not None:
                epoch_teacher.append(epoch_teacher[b])
        epoch_labels_t = torch.tensor(epoch_labels)
        epoch_teacher_t = torch.tensor(epoch_teacher) if epoch_teacher is not None else None
        order = list(range(len(seqs))) + extra
        rng.shuffle(order)
        if args.token_dropout > 0:
            seqs = [[s[0]] + [t for t in s[1:-1] if rng.random() >= args.token_dropout] + [s[-1]] for s in seqs]
        # Length-grouped batches inside shuffled chunks: little padding, still random.
        chunk = args.batch_size * 50
        batches = []
        for c in range(0, len(order), chunk):
            part = order[c: c + chunk]
            if args.group_by_length:
                part = sorted(part, key=lambda i: len(seqs[i]))
            batches += [part[b: b + args.batch_size] for b in range(0, len(part), args.batch_size)]
        rng.shuffle(batches)
        total_loss, seen = 0.0, 0
        for idx in batches:
            ids, mask, types = make_batch([seqs[i] for i in idx], pad_id)
            logits = model(ids, mask, types)
            if epoch_teacher_t is None:
                loss = ce(logits, epoch_labels_t[idx])
            else:
                gold = epoch_labels_t[idx]
                has_gold = (gold >= 0).float()
                log_probs = torch.log_softmax(logits, dim=-1)
                kd = -(epoch_teacher_t[idx] * log_probs).sum(-1)
                hard = nn.functional.cross_entropy(logits, gold.clamp(min=0), reduction="none",
                                                   label_smoothing=args.label_smoothing)
                w = args.distill_weight
                loss = (has_gold * ((1 - w) * hard + w * kd) + (1 - has_gold) * kd).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if args.anchor_weight > 0:
                with torch.no_grad():
                    lr_now = optimizer.param_groups[0]["lr"]
                    emb[has_glove] -= lr_now * args.anchor_weight * (emb[has_glove] - anchor_rows)
            scheduler.step()
            step += 1
            if ema_model is not model:
                with torch.no_grad():
                    decay = min(args.ema, (1 + step) / (10 + step))
                    for p_ema, p in zip(ema_model.parameters(), model.parameters()):
                        p_ema.mul_(decay).add_(p.detach(), alpha=1 - decay)
            total_loss += loss.item() * len(idx)
            seen += len(idx)
            last_step = step == total_steps or step == args.max_steps
            if step % args.eval_every == 0 or last_step:
                row = evaluate(epoch, step, total_loss / seen)
                print(json.dumps(row), flush=True)
                log.write(json.dumps(row) + "\n")
                log.flush()
                if row["dev_accuracy"] > best["dev_accuracy"]:
                    best = dict(row)
                    torch.save({"state_dict": ema_model.state_dict(), "config": asdict(config), "metrics": best,
                                "args": vars(args), "arch": args.arch}, os.path.join(args.run_dir, "best.pt"))
            if step == args.max_steps:
                break
        if step == args.max_steps:
            break
    print(json.dumps({"best": best}), flush=True)


if __name__ == "__main__":
    main()
