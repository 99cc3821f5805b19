#!/usr/bin/env bash
# Check the course against one PyTorch release before widening or moving the range in pyproject.toml:
#
#   tools/check-torch.sh 2.9.1 0.24.1      # torch and the torchvision built for it
#
# It builds a throwaway virtual environment with that torch/torchvision pair and the course (its
# test extras), then runs the unit tests and nbval on every notebook, with every hidden claim and
# every exercise solution's checks. The browser tests (JupyterLab, the website) are left out: they
# test what the browser shows, which no PyTorch release changes. The last line says what passed; the exit
# status is pytest's. Other releases come from PyPI (several GB for a CUDA build of torch; pip's
# cache keeps them for the next run). The environment is removed at the end.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 TORCH_VERSION TORCHVISION_VERSION   (for example: $0 2.9.1 0.24.1)" >&2
  exit 2
fi
torch_version=$1
vision_version=$2
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A pip configuration may cap torch at the release on this machine's disk; this check needs the one asked for.
export PIP_CONFIG_FILE=/dev/null
python3 -m venv --upgrade-deps "$scratch/venv"
"$scratch/venv/bin/pip" install --quiet "torch==$torch_version" "torchvision==$vision_version"
"$scratch/venv/bin/pip" install --quiet -e ".[test]" "torch==$torch_version" "torchvision==$vision_version"
"$scratch/venv/bin/python" -c 'import torch, torchvision; print(f"torch {torch.__version__}, torchvision {torchvision.__version__}")'
status=0
# The style test is left out too: the ruff that PyPI gives this environment may format differently.
"$scratch/venv/bin/python" -m pytest -q -m "not slow" --deselect tests/test_style.py tests || status=$?
"$scratch/venv/bin/python" -m pytest -q notebooks || status=$?
echo "tools/check-torch.sh $torch_version $vision_version: $([ $status -eq 0 ] && echo passed || echo FAILED) ($(date -u +%Y-%m-%d))"
exit $status
