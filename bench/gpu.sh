#!/usr/bin/env bash
# Issue 16's GPU check as one command on a machine with one GPU (< 10 minutes), printing one table:
# train-step throughput and TFLOP/s of Inception-small and ResNet-20 with each fast-path option,
# curvature timings on the device, and a shortened zhang2017-random-labels on CIFAR-10 with its claims.
#
#   bash bench/gpu.sh                       # full sizes on the GPU (CIFAR-10 files in $DLSCOPE_DATA or --data-root)
#   bash bench/gpu.sh --smoke               # tiny sizes, any machine, CPU included (seconds; CI runs it)
#   bash bench/gpu.sh --peak-tflops 989 --data-root /data --out runs/gpu-bench
#
# Python: $PYTHON if set, else .venv/bin/python, else python3. The checkout's src/ comes first on the path.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" bench/gpu_bench.py "$@"
