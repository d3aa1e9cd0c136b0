"""Exports a trained checkpoint as a Hugging Face model directory:
config.json, model.safetensors (float16, HF parameter names), onnx/model.onnx (float32 compute, dynamic batch and
sequence axes, inputs input_ids/attention_mask/token_type_ids, output logits), the tokenizer files, and
dev_logits.json (PyTorch logits on the dev set, for the ONNX Runtime parity check in Node).

All weights are rounded to float16 precision once, before evaluation and export, so the float16 safetensors file and
the ONNX graph hold the same values: the ONNX file stores the word-embedding table (most of the model) in float16
behind a Cast, everything else in float32. That keeps the directory small without a second set of numbers.
"""
import argparse
import json
import os
import shutil
import struct

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

from bert_model import BertConfig, BertForSequenceClassification
from build_tokenizer import read_tsv
from train import encode_all, load_vocab, predict_logits
from text_normalization import WordPiece

TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"]
EMBEDDING = "bert.embeddings.word_embeddings.weight"


def write_safetensors(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        data = t.detach().cpu().to(torch.float16).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F16", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for b in blobs:
            f.write(b)


def hf_config(c: BertConfig):
    return {
        "architectures": ["BertForSequenceClassification"], "model_type": "bert",
        "vocab_size": c.vocab_size, "hidden_size": c.hidden_size, "num_hidden_layers": c.num_hidden_layers,
        "num_attention_heads": c.num_attention_heads, "intermediate_size": c.intermediate_size,
        "hidden_act": "gelu", "hidden_dropout_prob": c.hidden_dropout_prob,
        "attention_probs_dropout_prob": c.attention_probs_dropout_prob,
        "max_position_embeddings": c.max_position_embeddings, "type_vocab_size": c.type_vocab_size,
        "initializer_range": c.initializer_range, "layer_norm_eps": c.layer_norm_eps,
        "pad_token_id": c.pad_token_id, "position_embedding_type": "absolute", "classifier_dropout": None,
        "id2label": {"0": "NEGATIVE", "1": "POSITIVE"}, "label2id": {"NEGATIVE": 0, "POSITIVE": 1},
        "problem_type": "single_label_classification", "torch_dtype": "float16", "use_cache": True,
    }


def export_onnx(model, path):
    ids = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]])
    mask = (ids != 0).long()
    torch.onnx.export(
        model, (ids, mask, torch.zeros_like(ids)), path, opset_version=14, do_constant_folding=True,
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                      "attention_mask": {0: "batch_size", 1: "sequence_length"},
                      "token_type_ids": {0: "batch_size", 1: "sequence_length"},
                      "logits": {0: "batch_size"}})
    graph_model = onnx.load(path)
    graph = graph_model.graph
    table = next(i for i in graph.initializer if i.name == EMBEDDING)
    half = numpy_helper.from_array(numpy_helper.to_array(table).astype(np.float16), EMBEDDING)
    graph.initializer.remove(table)
    graph.initializer.append(half)
    gather = next(n for n in graph.node if n.op_type == "Gather" and n.input[0] == EMBEDDING)
    gathered = gather.output[0]
    gather.output[0] = gathered + "_float16"
    cast = helper.make_node("Cast", [gather.output[0]], [gathered], to=onnx.TensorProto.FLOAT,
                            name="word_embeddings_to_float32")
    position = list(graph.node).index(gather)
    graph.node.insert(position + 1, cast)
    graph_model.producer_name = "sentiment-inference/training"
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dev", default="../../shared/data/sst2/dev.tsv")
    args = ap.parse_args()

    saved = torch.load(args.checkpoint, map_location="cpu")
    config = BertConfig(**saved["config"])
    model = BertForSequenceClassification(config)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.float16).to(torch.float32))

    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    for name in TOKENIZER_FILES:
        shutil.copy(os.path.join(args.tokenizer_dir, name), os.path.join(args.out, name))
    json.dump(hf_config(config), open(os.path.join(args.out, "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(args.out, "model.safetensors"), model.state_dict(), {"format": "pt"})
    export_onnx(model, os.path.join(args.out, "onnx", "model.onnx"))

    vocab = load_vocab(args.tokenizer_dir)
    dev = list(read_tsv(args.dev))
    seqs = encode_all(WordPiece(vocab), [t for _, t in dev], vocab["[CLS]"], vocab["[SEP]"], config.max_position_embeddings)
    logits = predict_logits(model, seqs, vocab["[PAD]"])
    accuracy = (logits.argmax(-1) == torch.tensor([l for l, _ in dev])).float().mean().item()
    work_dir = os.path.dirname(args.checkpoint)
    json.dump({"texts": [t for _, t in dev], "logits": logits.tolist()},
              open(os.path.join(work_dir, "dev_logits.json"), "w"))
    print(json.dumps({"exported": args.out, "pytorch_dev_accuracy_float16_weights": round(accuracy, 4),
                      "checkpoint_metrics": saved["metrics"]}))


if __name__ == "__main__":
    main()
