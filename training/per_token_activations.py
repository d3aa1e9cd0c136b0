"""Rewrites a dynamically quantized ONNX model (ONNX Runtime's quantize_dynamic) so that activations are quantized
per token instead of per tensor, leaving every weight, its int8 values and its scales as they are.

Why: DynamicQuantizeLinear computes one scale and zero point over the whole activation tensor [batch, sequence,
hidden], so a text's int8 values, and therefore its scores, depend on the other texts of its batch and on the
padding. A serving system must give a text the same answer whatever traffic shares its batch.

quantize_dynamic writes, for each float MatMul x @ W (+ bias):
    DynamicQuantizeLinear(x) -> x_q, x_scale, x_zp
    MatMulInteger(x_q, W_q, x_zp, W_zp) -> Cast(float) -> Mul(., Mul(x_scale, W_scale)) [-> Add(., bias)]
This rewrite quantizes each row of x (each token's hidden vector) symmetrically:
    x_scale = max(ReduceMax(|x|), tiny) / 127 over the last axis                         shape [..., 1]
    x_q     = QuantizeLinear(x, x_scale, 128, axis=-1, block_size=hidden)               uint8 in [1, 255]
    y       = MatMulIntegerToFloat(x_q, W_q, x_scale, W_scale, 128, W_zp) [+ bias]
QuantizeLinear with one block per row (opset 21) quantizes each row by its own scale in one node; the model is
converted to opset 21 first. ONNX Runtime's MatMulInteger(ToFloat) takes one zero point for A, hence symmetric rows
with the constant offset 128 (the fast uint8 x int8 kernels; int8 A runs an order of magnitude slower). Its CPU
kernel multiplies a non-scalar A scale into the output by broadcasting, so the [..., 1] row scale scales each output
row; it would also scale a bias given to it, so the bias stays in its own Add. Float MatMuls that read the same
quantized input (query, key and value) become one MatMulIntegerToFloat over their concatenated weights, one bias
Add and a Split: fewer, larger products. Every integer and every float product is the same as with one node per
MatMul, so the scores are too. The int8 file is for ONNX Runtime on CPU (DTYPE=q8 or auto there).

Running it again on its own output changes nothing (no DynamicQuantizeLinear is left).

    python per_token_activations.py MODEL.onnx [MORE.onnx ...]      # rewrites the files in place
"""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference, version_converter

OPSET = 21  # the first with blocked QuantizeLinear
INT8_MAX = 127.0
UINT8_OFFSET = 128
# Below any scale a real activation row has; keeps an all-zero row from dividing by zero.
SMALLEST_ABS_MAX = np.finfo(np.float32).tiny
CONSTANTS = {
    "tiny": ("per_token_smallest_abs_max", np.array(SMALLEST_ABS_MAX, dtype=np.float32)),
    "int8_max": ("per_token_int8_max", np.array(INT8_MAX, dtype=np.float32)),
    "offset": ("per_token_uint8_offset", np.array(UINT8_OFFSET, dtype=np.uint8)),
    "last_axis": ("per_token_last_axis", np.array([-1], dtype=np.int64)),
}


class Graph:
    """The graph with its producers, consumers and initializers by tensor name, for the pattern checks."""

    def __init__(self, model):
        self.graph = model.graph
        self.consumers = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.producer = {out: node for node in self.graph.node for out in node.output}
        self.initializers = {init.name: init for init in self.graph.initializer}
        self.shapes = {v.name: v.type.tensor_type.shape for v in list(self.graph.value_info) + list(self.graph.input)}

    def only_consumer(self, name, op_type):
        users = self.consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op_type:
            raise ValueError(f"{name} should feed one {op_type}, feeds {[u.op_type for u in users]}")
        return users[0]

    def constant(self, name):
        return numpy_helper.to_array(self.initializers[name])

    def rank(self, name):
        shape = self.shapes.get(name)
        return len(shape.dim) if shape is not None else None

    def add_initializer(self, array, name):
        self.graph.initializer.append(numpy_helper.from_array(array, name))
        self.initializers[name] = self.graph.initializer[-1]


def add_constants(g):
    for name, value in CONSTANTS.values():
        if name not in g.initializers:
            g.add_initializer(value, name)
    return {key: name for key, (name, _) in CONSTANTS.items()}


def per_token_quantization(node, hidden, zero_point, constants):
    """Nodes that quantize node's input per row: returns (nodes, quantized name, per-row scale name)."""
    x = node.input[0]
    p = (node.name or x) + "_per_token"
    abs_x, abs_max, guarded, scale, quantized = (f"{p}_{k}" for k in ["abs", "abs_max", "guarded", "scale", "q"])
    nodes = [
        helper.make_node("Abs", [x], [abs_x]),
        helper.make_node("ReduceMax", [abs_x, constants["last_axis"]], [abs_max], keepdims=1),
        helper.make_node("Max", [abs_max, constants["tiny"]], [guarded]),
        helper.make_node("Div", [guarded, constants["int8_max"]], [scale]),
    ]
    if zero_point["nodes_needed"]:
        # Blocked QuantizeLinear wants a zero point of the scale's shape: one per rank, shared.
        nodes += [helper.make_node("Shape", [scale], [zero_point["name"] + "_shape"]),
                  helper.make_node("ConstantOfShape", [zero_point["name"] + "_shape"], [zero_point["name"]],
                                   value=helper.make_tensor("offset", onnx.TensorProto.UINT8, [1], [UINT8_OFFSET]))]
    # Rounds half to even and saturates, as DynamicQuantizeLinear does.
    nodes.append(helper.make_node("QuantizeLinear", [x, scale, zero_point["name"]], [quantized], axis=-1,
                                  block_size=hidden))
    for i, n in enumerate(nodes):
        n.name = f"{p}_{i}_{n.op_type}"
    return nodes, quantized, scale


def weight_scale_of(g, matmul, row_scale):
    """Follows MatMulInteger -> Cast -> Mul(., Mul(row_scale, W_scale)); returns (W_scale, output Mul, replaced)."""
    cast = g.only_consumer(matmul.output[0], "Cast")
    output_mul = g.only_consumer(cast.output[0], "Mul")
    product_name = output_mul.input[1] if output_mul.input[0] == cast.output[0] else output_mul.input[0]
    product = g.producer.get(product_name)
    if product is None or product.op_type != "Mul" or row_scale not in product.input:
        raise ValueError(f"{output_mul.name}: expected Mul(cast, Mul({row_scale}, weight scale))")
    weight_scale = product.input[1] if product.input[0] == row_scale else product.input[0]
    return weight_scale, output_mul, [matmul, cast, output_mul, product]


def bias_add_of(g, output):
    """The Add of a constant bias that is output's only consumer, with the bias's name, else (None, None)."""
    users = g.consumers.get(output, [])
    if len(users) != 1 or users[0].op_type != "Add":
        return None, None
    constants = [name for name in users[0].input if name in g.initializers]
    return (users[0], constants[0]) if len(constants) == 1 else (None, None)


def merged_products(g, matmuls, quantized, row_scale, old_scale, offset):
    """One MatMulIntegerToFloat (+ bias Add + Split) for the MatMuls that read one quantized input, or one per
    MatMul when they do not all add a constant bias. Returns (new nodes, replaced nodes)."""
    parts = [weight_scale_of(g, m, old_scale) for m in matmuls]
    adds = [bias_add_of(g, output_mul.output[0]) for _, output_mul, _ in parts]
    replaced = [n for _, _, nodes in parts for n in nodes]
    if len(matmuls) == 1 or any(add is None for add, _ in adds):
        return [helper.make_node("MatMulIntegerToFloat", [quantized, m.input[1], row_scale, scale, offset,
                                                          m.input[3] if len(m.input) > 3 else ""],
                                 [output_mul.output[0]], name=m.name + "_per_token", domain="com.microsoft")
                for m, (scale, output_mul, _) in zip(matmuls, parts)], replaced
    p = matmuls[0].name + "_merged"
    weights = [g.constant(m.input[1]) for m in matmuls]
    per_column = [lambda name, w=w: np.broadcast_to(g.constant(name) if name else np.int8(0), (w.shape[1],))
                  for w in weights]
    g.add_initializer(np.concatenate(weights, axis=1), p + "_weight")
    g.add_initializer(np.concatenate([f(scale) for f, (scale, _, _) in zip(per_column, parts)]), p + "_weight_scale")
    g.add_initializer(np.concatenate([f(m.input[3] if len(m.input) > 3 else "")
                                     for f, m in zip(per_column, matmuls)]), p + "_weight_zero_point")
    g.add_initializer(np.concatenate([g.constant(bias) for _, bias in adds]), p + "_bias")
    g.add_initializer(np.array([w.shape[1] for w in weights], dtype=np.int64), p + "_widths")
    nodes = [helper.make_node("MatMulIntegerToFloat", [quantized, p + "_weight", row_scale, p + "_weight_scale",
                                                       offset, p + "_weight_zero_point"], [p + "_product"],
                              name=p, domain="com.microsoft"),
             helper.make_node("Add", [p + "_product", p + "_bias"], [p + "_biased"], name=p + "_bias_add"),
             helper.make_node("Split", [p + "_biased", p + "_widths"], [add.output[0] for add, _ in adds], axis=-1,
                              name=p + "_split")]
    return nodes, replaced + [add for add, _ in adds]


def rewrite_one(g, node, constants, zero_points):
    quantized, old_scale, old_zero_point = node.output
    matmuls = g.consumers.get(quantized, [])
    if not matmuls or any(m.op_type != "MatMulInteger" or list(m.input[:3]) != [quantized, m.input[1], old_zero_point]
                          or m.input[1] not in g.initializers for m in matmuls):
        raise ValueError(f"{quantized} should feed MatMulInteger as A with {old_zero_point}, constant weights as B")
    hidden = g.constant(matmuls[0].input[1]).shape[0]
    # In an encoder every activation of one rank has the same leading axes ([batch, sequence] or [batch]).
    rank = g.rank(node.input[0])
    key = rank if rank is not None else node.name
    zero_point = {"name": zero_points.get(key, f"per_token_zero_point_{len(zero_points)}"),
                  "nodes_needed": key not in zero_points}
    zero_points[key] = zero_point["name"]
    quantize, new_quantized, row_scale = per_token_quantization(node, hidden, zero_point, constants)
    products, replaced = merged_products(g, matmuls, new_quantized, row_scale, old_scale, constants["offset"])
    nodes = list(g.graph.node)
    position = nodes.index(node)
    kept = [n for n in nodes if n is not node and all(n is not r for r in replaced)]
    kept[position:position] = quantize + products
    del g.graph.node[:]
    g.graph.node.extend(kept)


def rewrite_per_token(model):
    """Returns (the rewritten model, how many DynamicQuantizeLinear nodes were replaced)."""
    if not any(n.op_type == "DynamicQuantizeLinear" for n in model.graph.node):
        return model, 0
    model = shape_inference.infer_shapes(version_converter.convert_version(model, OPSET))
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    constants = add_constants(Graph(model))
    zero_points = {}
    replaced = 0
    while True:
        g = Graph(model)
        target = next((n for n in g.graph.node if n.op_type == "DynamicQuantizeLinear"), None)
        if target is None:
            break
        rewrite_one(g, target, constants, zero_points)
        replaced += 1
    used = {name for node in model.graph.node for name in node.input}
    for init in [i for i in model.graph.initializer if i.name not in used]:
        model.graph.initializer.remove(init)
    # Shapes of the tensors left stay: ONNX Runtime's fusions (SkipLayerNormalization) need them.
    produced = {name for node in model.graph.node for name in node.output}
    for info in [v for v in model.graph.value_info if v.name not in produced]:
        model.graph.value_info.remove(info)
    onnx.checker.check_model(model)
    return model, replaced


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="ONNX files written by quantize_dynamic, rewritten in place")
    args = ap.parse_args()
    for path in args.models:
        model, replaced = rewrite_per_token(onnx.load(path))
        if replaced:
            onnx.save(model, path)
        print(f"{path}: {replaced} DynamicQuantizeLinear node(s) now quantize per token")


if __name__ == "__main__":
    main()
