"""Masked-language-model pre-training of the BERT encoder on SST-2 train's own text (labels unused), before
fine-tuning with train.py --init-checkpoint. Dev is never read.
Usage: /usr/bin/python3 pretrain_mlm.py --tokenizer-dir work/tokenizer --out work/runs/mlm/encoder.pt --seed 13
"""
import argparse
import json
import os
import random
import time

import numpy as np
import torch
from torch import nn

from bert_model import BertConfig, BertModel
from build_tokenizer import read_tsv
from text_normalization import WordPiece, detokenize_sst
from train import encode_all, load_vocab, make_batch


class MaskedLMHead(nn.Module):
    """BERT's prediction head: transform, LayerNorm, then the word embeddings transposed (tied) plus a bias."""

    def __init__(self, c: BertConfig, word_embeddings: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.norm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.word_embeddings = word_embeddings
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(self, h):
        return self.norm(nn.functional.gelu(self.dense(h))) @ self.word_embeddings.weight.T + self.bias


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", default="../../shared/data/sst2/train.tsv")
    ap.add_argument("--glove", default="work/glove_init.npy")
    ap.add_argument("--glove-mask", default="work/glove_mask.npy")
    ap.add_argument("--glove-std", type=float, default=0.1)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=512)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--min-words", type=int, default=6, help="phrases shorter than this are left out")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--mask-prob", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)

    vocab = load_vocab(args.tokenizer_dir)
    pad_id, cls_id, sep_id, mask_id = vocab["[PAD]"], vocab["[CLS]"], vocab["[SEP]"], vocab["[MASK]"]
    wp = WordPiece(vocab)
    texts = sorted({t for _, t in read_tsv(args.train) if len(t.split()) >= args.min_words})
    seqs = encode_all(wp, texts, cls_id, sep_id, args.max_length) + \
        encode_all(wp, [detokenize_sst(t) for t in texts], cls_id, sep_id, args.max_length)

    config = BertConfig(vocab_size=len(vocab), hidden_size=args.hidden, num_hidden_layers=args.layers,
                        num_attention_heads=args.heads, intermediate_size=args.intermediate,
                        max_position_embeddings=args.max_length, pad_token_id=pad_id)
    encoder = BertModel(config)
    for m in encoder.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            m.weight.data.normal_(0.0, config.initializer_range)
        if isinstance(m, nn.Linear) and m.bias is not None:
            m.bias.data.zero_()
    glove = torch.tensor(np.load(args.glove))
    has_glove = torch.tensor(np.load(args.glove_mask))
    glove = glove * (args.glove_std / glove[has_glove].std())
    with torch.no_grad():
        emb = encoder.embeddings.word_embeddings.weight
        emb[has_glove] = 0.0
        emb[has_glove, : glove.shape[1]] = glove[has_glove]
        encoder.embeddings.position_embeddings.weight.normal_(0.0, args.glove_std)
    head = MaskedLMHead(config, encoder.embeddings.word_embeddings)
    params = list(encoder.parameters()) + [p for n, p in head.named_parameters() if not n.startswith("word_embeddings")]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    steps_per_epoch = (len(seqs) + args.batch_size - 1) // args.batch_size
    total = steps_per_epoch * args.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / max(1, total // 20)) * max(0.0, (total - s) / total))
    special = torch.tensor([pad_id, cls_id, sep_id])
    started = time.time()
    print(json.dumps({"texts": len(texts), "sequences": len(seqs), "steps": total}), flush=True)
    for epoch in range(1, args.epochs + 1):
        order = sorted(range(len(seqs)), key=lambda i: (len(seqs[i]), random.random()))
        batches = [order[b: b + args.batch_size] for b in range(0, len(order), args.batch_size)]
        random.shuffle(batches)
        total_loss = 0.0
        for idx in batches:
            ids, attention, types = make_batch([seqs[i] for i in idx], pad_id)
            candidates = ~torch.isin(ids, special)
            chosen = (torch.rand(ids.shape) < args.mask_prob) & candidates
            roll = torch.rand(ids.shape)
            inputs = ids.clone()
            inputs[chosen & (roll < 0.8)] = mask_id
            swap = chosen & (roll >= 0.8) & (roll < 0.9)
            inputs[swap] = torch.randint(5, len(vocab), (int(swap.sum()),))
            additive_mask = (1.0 - attention[:, None, None, :].to(torch.float32)) * -10000.0
            hidden = encoder.encoder(encoder.embeddings(inputs, types), additive_mask)
            # Only masked positions are scored: the 30k-wide decoder is most of the cost.
            loss = nn.functional.cross_entropy(head(hidden[chosen]), ids[chosen])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            total_loss += loss.item()
        print(json.dumps({"epoch": epoch, "mlm_loss": total_loss / len(batches),
                          "elapsed_s": round(time.time() - started, 1)}), flush=True)
    torch.save({"encoder": encoder.state_dict(), "config": config.__dict__}, args.out)


if __name__ == "__main__":
    main()
