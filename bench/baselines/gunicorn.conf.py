"""gunicorn settings for the Flask baseline, as a careful operator would run the app on two cores."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
# One worker per core, each single-threaded (OMP_NUM_THREADS=1 in the environment): PyTorch's own thread pool
# would otherwise oversubscribe the cores.
workers = 2
