"""Rewrites a dynamically quantized ONNX model (ONNX Runtime's quantize_dynamic) so that activations are quantized
per token instead of per tensor, leaving every weight, its int8 values and its scales as they are.

Why: DynamicQuantizeLinear computes one scale and zero point over the whole activation tensor [batch, sequence,
hidden], so a text's int8 values, and therefore its scores, depend on the other texts of its batch and on the
padding. A serving system must give a text the same answer whatever traffic shares its batch.

quantize_dynamic writes, for each float MatMul x @ W:
    DynamicQuantizeLinear(x) -> x_q, x_scale, x_zp
    MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast(float) -> Mul(., Mul(x_scale, W_scale)) -> y
This rewrite quantizes each row of x (each token's hidden vector) symmetrically, and scales each output row after
the integer product:
    x_scale = max(ReduceMax(x), -ReduceMin(x), tiny) / 127 over the last axis     shape [..., 1]
    x_q     = QuantizeLinear(x / x_scale, 1, 128)                                   uint8 in [1, 255]
    y       = MatMulIntegerToFloat(x_q, W_q, 1, W_scale, 128, W_zp) * x_scale
ONNX Runtime's MatMulInteger and MatMulIntegerToFloat take one zero point for A, hence symmetric rows with the
constant offset 128 (the uint8 x int8 kernels); MatMulIntegerToFloat (com.microsoft, what ONNX Runtime fuses the
old pattern into on CPU) takes one A scale, hence the per-row scale in a Mul after it. Left as MatMulInteger -> Cast
-> Mul(Mul(x_scale, W_scale)), ONNX Runtime would fuse it into MatMulIntegerToFloat with the per-row scale as its A
scale, which it does not read per row. The int8 file is for ONNX Runtime on CPU (DTYPE=q8 or auto there).

Running it again on its own output changes nothing (no DynamicQuantizeLinear is left).

    python per_token_activations.py MODEL.onnx [MORE.onnx ...]      # rewrites the files in place
"""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper

INT8_MAX = 127.0
UINT8_OFFSET = 128
# Below any scale a real activation row has; keeps an all-zero row from dividing by zero.
SMALLEST_ABS_MAX = np.finfo(np.float32).tiny
CONSTANTS = {
    "tiny": ("per_token_smallest_abs_max", np.array(SMALLEST_ABS_MAX, dtype=np.float32)),
    "int8_max": ("per_token_int8_max", np.array(INT8_MAX, dtype=np.float32)),
    "one": ("per_token_unit_scale", np.array(1.0, dtype=np.float32)),
    "offset": ("per_token_uint8_offset", np.array(UINT8_OFFSET, dtype=np.uint8)),
}


class Graph:
    """The graph with its producers and consumers by tensor name, for the pattern checks."""

    def __init__(self, model):
        self.graph = model.graph
        self.consumers = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.producer = {out: node for node in self.graph.node for out in node.output}

    def only_consumer(self, name, op_type):
        users = self.consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op_type:
            raise ValueError(f"{name} should feed one {op_type}, feeds {[u.op_type for u in users]}")
        return users[0]


def add_constants(graph):
    present = {init.name for init in graph.initializer}
    for name, value in CONSTANTS.values():
        if name not in present:
            graph.initializer.append(numpy_helper.from_array(value, name))
    return {key: name for key, (name, _) in CONSTANTS.items()}


def per_token_quantization(node, constants):
    """Nodes that replace one DynamicQuantizeLinear, under its output names: x_scale is now [..., 1], one per row."""
    x = node.input[0]
    quantized, scale, zero_point = node.output
    p = (node.name or x) + "_per_token"
    row_max, row_min, row_neg_min, abs_max, scaled = (f"{p}_{k}" for k in ["max", "min", "neg_min", "abs_max", "scaled"])
    nodes = [
        helper.make_node("Identity", [constants["offset"]], [zero_point]),
        # opset 13 to 17: ReduceMax and ReduceMin take their axes as an attribute. Two reads of x cost less than
        # writing |x| first.
        helper.make_node("ReduceMax", [x], [row_max], axes=[-1], keepdims=1),
        helper.make_node("ReduceMin", [x], [row_min], axes=[-1], keepdims=1),
        helper.make_node("Neg", [row_min], [row_neg_min]),
        helper.make_node("Max", [row_max, row_neg_min, constants["tiny"]], [abs_max]),
        helper.make_node("Div", [abs_max, constants["int8_max"]], [scale]),
        helper.make_node("Div", [x, scale], [scaled]),
        # Rounds half to even and saturates, as DynamicQuantizeLinear does.
        helper.make_node("QuantizeLinear", [scaled, constants["one"], zero_point], [quantized]),
    ]
    for i, n in enumerate(nodes):
        n.name = f"{p}_{i}_{n.op_type}"
    return nodes


def rescale_per_row(g, matmul, row_scale):
    """MatMulInteger -> Cast -> Mul(., Mul(row_scale, W_scale)) becomes
    MatMulIntegerToFloat(a_scale 1, b_scale W_scale) -> Mul(., row_scale), under the same output name.
    Returns the nodes now unused."""
    cast = g.only_consumer(matmul.output[0], "Cast")
    output_mul = g.only_consumer(cast.output[0], "Mul")
    product_name = output_mul.input[1] if output_mul.input[0] == cast.output[0] else output_mul.input[0]
    product = g.producer.get(product_name)
    if product is None or product.op_type != "Mul" or row_scale not in product.input:
        raise ValueError(f"{output_mul.name}: expected Mul(cast, Mul({row_scale}, weight scale))")
    weight_scale = product.input[1] if product.input[0] == row_scale else product.input[0]
    x_q, w_q, x_zp = matmul.input[:3]
    w_zp = matmul.input[3] if len(matmul.input) > 3 else ""
    weight_scaled = output_mul.output[0] + "_weight_scaled"
    to_float = helper.make_node("MatMulIntegerToFloat", [x_q, w_q, CONSTANTS["one"][0], weight_scale, x_zp, w_zp],
                                [weight_scaled], name=matmul.name + "_to_float", domain="com.microsoft")
    row_mul = helper.make_node("Mul", [weight_scaled, row_scale], [output_mul.output[0]],
                               name=output_mul.name + "_per_token")
    position = list(g.graph.node).index(output_mul)
    g.graph.node.insert(position + 1, to_float)
    g.graph.node.insert(position + 2, row_mul)
    return [matmul, cast, output_mul, product]


def rewrite_per_token(model):
    """Returns how many DynamicQuantizeLinear nodes were replaced; model is changed in place."""
    targets = [n for n in model.graph.node if n.op_type == "DynamicQuantizeLinear"]
    if not targets:
        return 0
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    if not 13 <= opset <= 17:
        raise ValueError(f"opset {opset}: this rewrite writes ReduceMax with an axes attribute (opset 13 to 17)")
    constants = add_constants(model.graph)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    for node in targets:
        g = Graph(model)
        quantized, scale, zero_point = node.output
        matmuls = g.consumers.get(quantized, [])
        if any(m.op_type != "MatMulInteger" or list(m.input[:3]) != [quantized, m.input[1], zero_point]
               for m in matmuls):
            raise ValueError(f"{quantized} should feed MatMulInteger as A, with {zero_point}")
        unused = [n for matmul in matmuls for n in rescale_per_row(g, matmul, scale)]
        for done in unused:
            model.graph.node.remove(done)
        nodes = per_token_quantization(node, constants)
        position = list(model.graph.node).index(node)
        model.graph.node.remove(node)
        for offset, replacement in enumerate(nodes):
            model.graph.node.insert(position + offset, replacement)
    onnx.checker.check_model(model)
    return len(targets)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="ONNX files written by quantize_dynamic, rewritten in place")
    args = ap.parse_args()
    for path in args.models:
        model = onnx.load(path)
        replaced = rewrite_per_token(model)
        if replaced:
            onnx.save(model, path)
        print(f"{path}: {replaced} DynamicQuantizeLinear node(s) now quantize per token")


if __name__ == "__main__":
    main()
