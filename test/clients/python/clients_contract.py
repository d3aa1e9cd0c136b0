"""Runs the real Python clients, unchanged, against a running server; exits non-zero on the first failure.

Usage: clients_contract.py HTTP_URL [GRPC_ADDRESS]
"""

import json
import sys
import urllib.request

import numpy as np
import tritonclient.http as triton_http
from huggingface_hub import InferenceClient

POSITIVE = "I love using this product!"
NEGATIVE = "This is the worst purchase I have ever made."
EXPECTED = {POSITIVE: "POSITIVE", NEGATIVE: "NEGATIVE"}
OUTPUTS = ("label", "score", "probabilities")


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok - {what}")


def as_text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def huggingface_hub_text_classification(url):
    client = InferenceClient(model=url)
    for text, label in EXPECTED.items():
        result = client.text_classification(text)
        check(result[0].label == label, f"huggingface_hub text_classification({text!r}) -> {label}")
        check(len(result) >= 2 and result[0].score >= result[1].score, "huggingface_hub: every label, best first")
    best = client.text_classification(NEGATIVE, top_k=1)
    check([p.label for p in best] == ["NEGATIVE"], "huggingface_hub text_classification(top_k=1)")


def model_name(metadata):
    return metadata["name"] if isinstance(metadata, dict) else metadata.name


def check_infer(result, outputs, transport):
    labels = [as_text(v) for v in result.as_numpy("label").reshape(-1)]
    check(labels == ["POSITIVE", "NEGATIVE"], f"tritonclient {transport} infer labels {labels}")
    scores = result.as_numpy("score")
    probabilities = result.as_numpy("probabilities")
    check(scores.dtype == np.float32 and scores.shape == (2,), f"tritonclient {transport}: FP32 scores [2]")
    check(probabilities.dtype == np.float32 and probabilities.shape[0] == 2, f"tritonclient {transport}: FP32 probabilities [2, labels]")
    check(np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5), f"tritonclient {transport}: probabilities sum to 1")


def tritonclient_http(url):
    client = triton_http.InferenceServerClient(url=url.removeprefix("http://"))
    check(client.is_server_live(), "tritonclient http is_server_live")
    check(client.is_server_ready(), "tritonclient http is_server_ready")
    check("name" in client.get_server_metadata(), "tritonclient http get_server_metadata")
    # The served model's name, as /info reports it (this server has no model repository API).
    with urllib.request.urlopen(f"{url}/info") as response:
        name = json.load(response)["model"]["name"]
    metadata = client.get_model_metadata(name)
    check(model_name(metadata) == name, f"tritonclient http get_model_metadata({name!r})")
    check(metadata["inputs"][0]["datatype"] == "BYTES", "tritonclient http: BYTES input")
    check(client.is_model_ready(name), "tritonclient http is_model_ready")
    check(not client.is_model_ready("no-such-model"), "tritonclient http is_model_ready(unknown) is False")
    text = triton_http.InferInput("text", [2], "BYTES")
    text.set_data_from_numpy(np.array([POSITIVE, NEGATIVE], dtype=object), binary_data=False)
    outputs = [triton_http.InferRequestedOutput(output, binary_data=False) for output in OUTPUTS]
    result = client.infer(name, [text], outputs=outputs, request_id="py-http-1")
    check(result.get_response()["id"] == "py-http-1", "tritonclient http: request id echoed")
    check_infer(result, outputs, "http")
    # tritonclient's defaults: texts sent as binary tensor data, and every output asked for as binary data.
    binary_text = triton_http.InferInput("text", [2], "BYTES")
    binary_text.set_data_from_numpy(np.array([POSITIVE, NEGATIVE], dtype=object))
    defaults = client.infer(name, [binary_text])
    check_infer(defaults, None, "http, binary tensor data (defaults)")
    # The README's example: with tritonclient's defaults, as_numpy("label") holds bytes.
    check(list(defaults.as_numpy("label")) == [b"POSITIVE", b"NEGATIVE"], "tritonclient http defaults: labels as bytes")
    binary_outputs = [triton_http.InferRequestedOutput(output) for output in OUTPUTS]
    check_infer(client.infer(name, [binary_text], outputs=binary_outputs), binary_outputs, "http, binary outputs")
    return name


def tritonclient_grpc(address, name):
    import tritonclient.grpc as triton_grpc

    client = triton_grpc.InferenceServerClient(url=address)
    check(client.is_server_live(), "tritonclient grpc is_server_live")
    check(client.is_server_ready(), "tritonclient grpc is_server_ready")
    metadata = client.get_model_metadata(name)
    check(metadata.name == name, f"tritonclient grpc get_model_metadata({name!r})")
    check(metadata.inputs[0].datatype == "BYTES", "tritonclient grpc: BYTES input")
    check(client.is_model_ready(name), "tritonclient grpc is_model_ready")
    text = triton_grpc.InferInput("text", [2], "BYTES")
    text.set_data_from_numpy(np.array([POSITIVE, NEGATIVE], dtype=object))
    outputs = [triton_grpc.InferRequestedOutput(output) for output in OUTPUTS]
    result = client.infer(name, [text], outputs=outputs, request_id="py-grpc-1")
    check(result.get_response().id == "py-grpc-1", "tritonclient grpc: request id echoed")
    check_infer(result, outputs, "grpc")
    everything = client.infer(name, [text])
    check(list(everything.as_numpy("label")) == [b"POSITIVE", b"NEGATIVE"], "tritonclient grpc: all outputs by default, labels as bytes")


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    url = argv[1].rstrip("/")
    huggingface_hub_text_classification(url)
    name = tritonclient_http(url)
    if len(argv) == 3:
        tritonclient_grpc(argv[2], name)
    print("all Python client checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
