"""Where the local stack lives: the repository root and its ``.llmops`` state folder."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """``$LLMOPS_HOME``, else the nearest folder above this file holding ``pants.toml``."""
    if os.environ.get("LLMOPS_HOME"):
        return Path(os.environ["LLMOPS_HOME"]).resolve()
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "pants.toml").exists() or (folder / ".git").exists():
            return folder
    return Path.cwd()


def models_python() -> Path:
    """The interpreter of the model server's own virtualenv (torch, llama.cpp, PyTriton)."""
    return Path(os.environ.get("LLMOPS_MODELS_PYTHON", repo_root() / ".venv-models/bin/python"))
