"""Exports a trained checkpoint as a Hugging Face model directory:
config.json, model.safetensors (float16, HF parameter names), onnx/model.onnx (float32 compute, dynamic batch and
sequence axes, inputs input_ids/attention_mask/token_type_ids, output logits), the tokenizer files, and
dev_logits.json (PyTorch logits on the dev set, for the ONNX Runtime parity check in Node).

All weights are rounded to float16 precision once, before evaluation and export, so the float16 safetensors file and
the ONNX graph hold the same values: the ONNX file stores the word-embedding table (--float16-storage embedding, the
tiny model) or every large weight matrix (--float16-storage all, the MiniLM model) in float16 behind a Cast, and
computes in float32. That keeps the directory small without a second set of numbers.

--quantize also writes onnx/model_quantized.onnx: ONNX Runtime's dynamic int8 quantization (DTYPE=q8) of a plain
float32 export of the same weights; with --per-token-activations its activations are quantized per token
(per_token_activations.py), so that a text's scores do not depend on the other texts of its batch.
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
from per_token_activations import rewrite_per_token
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


def export_onnx(model, path, float16_storage="embedding"):
    export_float32_onnx(model, path)
    graph_model = onnx.load(path)
    if float16_storage == "embedding":
        store_embedding_as_float16(graph_model)
    else:
        store_large_weights_as_float16(graph_model)
    graph_model.producer_name = "sentiment-inference/training"
    onnx.checker.check_model(graph_model)
    onnx.save(graph_model, path)


def export_float32_onnx(model, path):
    ids = torch.tensor([[2, 10, 11, 3], [2, 12, 3, 0]])
    mask = (ids != 0).long()
    extra = {"dynamo": False} if int(torch.__version__.split(".")[0]) >= 2 else {}
    torch.onnx.export(
        model, (ids, mask, torch.zeros_like(ids)), path, opset_version=14, do_constant_folding=True, **extra,
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch_size", 1: "sequence_length"},
                      "attention_mask": {0: "batch_size", 1: "sequence_length"},
                      "token_type_ids": {0: "batch_size", 1: "sequence_length"},
                      "logits": {0: "batch_size"}})


def store_large_weights_as_float16(graph_model, min_elements=4096):
    """Every float32 initializer of at least min_elements values is stored in float16 and cast back by a Cast node at
    the head of the graph, under its old name, so no consumer changes."""
    graph = graph_model.graph
    casts = []
    for init in list(graph.initializer):
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name + "_float16")
        graph.initializer.remove(init)
        graph.initializer.append(half)
        casts.append(helper.make_node("Cast", [half.name], [init.name], to=onnx.TensorProto.FLOAT,
                                      name=init.name + "_to_float32"))
    for i, cast in enumerate(casts):
        graph.node.insert(i, cast)


def store_embedding_as_float16(graph_model):
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


def export_quantized_onnx(model, path, per_channel=False, per_token=False):
    from onnxruntime.quantization import QuantType, quantize_dynamic
    plain = path + ".float32.tmp"
    export_float32_onnx(model, plain)
    quantize_dynamic(plain, path, weight_type=QuantType.QInt8, per_channel=per_channel)
    os.remove(plain)
    quantized = onnx.load(path)
    if per_token:
        quantized, _ = rewrite_per_token(quantized)
    quantized.producer_name = "sentiment-inference/training"
    onnx.save(quantized, path)


def write_tokenizer_files(tokenizer_dir, out, max_length):
    """The tokenizer as the server reads it: no truncation or padding baked into tokenizer.json (the server truncates
    to the model's maximum length and pads per batch), model_max_length = the position table."""
    for name in TOKENIZER_FILES:
        shutil.copy(os.path.join(tokenizer_dir, name), os.path.join(out, name))
    tokenizer = json.load(open(os.path.join(out, "tokenizer.json"), encoding="utf-8"))
    if tokenizer.get("truncation") is not None or tokenizer.get("padding") is not None:
        tokenizer["truncation"], tokenizer["padding"] = None, None
        json.dump(tokenizer, open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    tokenizer_config = json.load(open(os.path.join(out, "tokenizer_config.json"), encoding="utf-8"))
    if tokenizer_config.get("model_max_length") != max_length:
        tokenizer_config["model_max_length"] = max_length
        for key in ["name_or_path"]:
            tokenizer_config.pop(key, None)
        json.dump(tokenizer_config, open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8"), indent=2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dev", default="../../shared/data/sst2/dev.tsv")
    ap.add_argument("--float16-storage", choices=["embedding", "all"], default="embedding",
                    help="which ONNX weights are stored in float16 behind a Cast (computation stays float32)")
    ap.add_argument("--quantize", action="store_true", help="also write onnx/model_quantized.onnx (dynamic int8)")
    ap.add_argument("--per-channel", action="store_true", help="int8 scales per output channel instead of per tensor")
    ap.add_argument("--per-token-activations", action="store_true",
                    help="int8 activation scales per token instead of per batch tensor (per_token_activations.py)")
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
    write_tokenizer_files(args.tokenizer_dir, args.out, config.max_position_embeddings)
    json.dump(hf_config(config), open(os.path.join(args.out, "config.json"), "w"), indent=2)
    write_safetensors(os.path.join(args.out, "model.safetensors"), model.state_dict(), {"format": "pt"})
    export_onnx(model, os.path.join(args.out, "onnx", "model.onnx"), args.float16_storage)
    if args.quantize:
        export_quantized_onnx(model, os.path.join(args.out, "onnx", "model_quantized.onnx"), args.per_channel,
                              args.per_token_activations)

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
