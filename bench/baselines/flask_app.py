"""Baseline: the original app the service replaces, as it was written.

Flask, one `transformers` pipeline for the model directory, called once per request, served by `app.run` (Flask's
development server, threaded) or by gunicorn (`gunicorn -w 2 flask_app:app`, as bench/flask-baseline.ts starts it).
PyTorch on CPU. /readyz is the harness's readiness probe and the only addition; /analyze is the app's own route.

Env: MODEL_DIR, HOST, PORT (the bench sets them).
"""

import os
import sys

from flask import Flask, jsonify, request
from transformers import pipeline

app = Flask(__name__)
classifier = pipeline("sentiment-analysis", model=os.environ["MODEL_DIR"])
# The weights file stores float16; from_pretrained without torch_dtype loads it as float32, as the service computes.
print(f"flask baseline: pipeline on {classifier.device}, computing in {classifier.model.dtype}", file=sys.stderr)


@app.route("/analyze", methods=["POST"])
def analyze():
    text = request.json["text"]
    return jsonify(classifier(text))


@app.route("/readyz")
def readyz():
    return {"status": "ready"}


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
