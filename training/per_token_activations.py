"""Rewrites a dynamically quantized ONNX model (ONNX Runtime's quantize_dynamic) so that activations are quantized
per token instead of per tensor, leaving every weight, its int8 values and its scales as they are.

Why: DynamicQuantizeLinear computes one scale and zero point over the whole activation tensor [batch, sequence,
hidden], so a text's int8 values, and therefore its scores, depend on the other texts of its batch and on the
padding. A serving system must give a text the same answer whatever traffic shares its batch.

quantize_dynamic writes, for each float MatMul x @ W:
    DynamicQuantizeLinear(x) -> x_q, x_scale, x_zp
    MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast(float) -> Mul(., Mul(x_scale, W_scale)) -> y
This rewrite quantizes each row of x (each token's hidden vector) symmetrically:
    x_scale = max(ReduceMax(|x|, last axis), tiny) / 127         shape [..., 1]
    x_q     = QuantizeLinear(x / x_scale, 1, 128)                 uint8 in [1, 255], zero point the scalar 128
and scales each output row after the integer product:
    y = Mul(Cast(MatMulInteger(x_q, W_q, 128, W_zp)), W_scale) * x_scale
ONNX Runtime's CPU MatMulInteger takes only a scalar zero point for A, hence symmetric rows with the constant
offset 128 (the uint8 x int8 kernel). The scales are applied in two Muls, the weight's first, because ONNX Runtime
fuses MatMulInteger -> Cast -> Mul(Mul(a_scale, b_scale)) into MatMulIntegerToFloat, whose A scale is one number:
fused, a per-row scale would be read wrongly.

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


def per_token_quantization(node, width, constants):
    """Nodes that replace one DynamicQuantizeLinear, under its output names: x_scale is now [..., 1], one per row
    of x's last axis (width values). QuantizeLinear's per-axis form quantizes each row with its own scale in one
    pass, on x seen as a [rows, width] matrix."""
    x = node.input[0]
    quantized, scale, zero_point = node.output
    p = (node.name or x) + "_per_token"
    names = {k: f"{p}_{k}" for k in ["max", "min", "neg_min", "abs_max", "abs_max_floor", "shape", "width_shape",
                                     "rows", "scales", "zero_points", "scale_count", "quantized_rows"]}
    width_shape = numpy_helper.from_array(np.array([-1, width], dtype=np.int64), names["width_shape"])
    flat = numpy_helper.from_array(np.array([-1], dtype=np.int64), p + "_flat")
    nodes = [
        helper.make_node("Identity", [constants["offset"]], [zero_point]),
        # opset 13 to 17: ReduceMax and ReduceMin take their axes as an attribute.
        helper.make_node("ReduceMax", [x], [names["max"]], axes=[-1], keepdims=1),
        helper.make_node("ReduceMin", [x], [names["min"]], axes=[-1], keepdims=1),
        helper.make_node("Neg", [names["min"]], [names["neg_min"]]),
        helper.make_node("Max", [names["max"], names["neg_min"], constants["tiny"]], [names["abs_max_floor"]]),
        helper.make_node("Div", [names["abs_max_floor"], constants["int8_max"]], [scale]),
        helper.make_node("Reshape", [scale, flat.name], [names["scales"]]),
        helper.make_node("Shape", [names["scales"]], [names["scale_count"]]),
        helper.make_node("Expand", [constants["offset"], names["scale_count"]], [names["zero_points"]]),
        helper.make_node("Reshape", [x, width_shape.name], [names["rows"]]),
        helper.make_node("QuantizeLinear", [names["rows"], names["scales"], names["zero_points"]],
                         [names["quantized_rows"]], axis=0),
        helper.make_node("Shape", [x], [names["shape"]]),
        helper.make_node("Reshape", [names["quantized_rows"], names["shape"]], [quantized]),
    ]
    for i, n in enumerate(nodes):
        n.name = f"{p}_{i}_{n.op_type}"
    return nodes, [width_shape, flat]


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
        width = next(i.dims[0] for i in model.graph.initializer if i.name == matmuls[0].input[1])
        nodes, initializers = per_token_quantization(node, width, constants)
        model.graph.initializer.extend(initializers)
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
