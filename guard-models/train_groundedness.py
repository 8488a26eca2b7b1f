"""Train the groundedness scorer: support features of answer sentences, logistic regression.

Data loading, training, evaluation, in that order. Every argument has a default that
reproduces the committed artifact (guard-models/artifacts/groundedness.*):

    OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/train_groundedness.py

Data: ../shared/datasets/halueval_qa_dev.jsonl only (see data/halueval.py for the source,
licence and the answer shapes built from it). Rows are split before anything is built:
held-out rows give the QA, long-answer and dialogue test sets, whose figures are printed
beside a length-only baseline (fitted on the training rows of the same shape), and on a
QA subset balanced by answer length, where length explains nothing. The model never sees
length: its features are shares and flags about support (llmops_guard_models.groundedness).

Training is Newton's method on an L2-regularised log-loss in float64: deterministic, so a
rerun writes the same weights (within 1e-9).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data import halueval  # noqa: E402
from llmops_guard_models import groundedness as g  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=halueval.DEFAULT_PATH)
    p.add_argument("--test-share", type=float, default=0.2, help="rows held out (default 0.2)")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the weights")
    p.add_argument(
        "--shapes",
        default="qa,long,dialogue",
        help="answer shapes trained on (default qa,long,dialogue; qa alone shows transfer)",
    )
    p.add_argument("--out", type=Path, default=HERE / "artifacts" / "groundedness")
    p.add_argument("--no-write", action="store_true", help="evaluate only")
    return p.parse_args(argv)


# --- data ---------------------------------------------------------------------------------


def build(rows: list[dict], ids: list[int], seed: int, lists: str) -> dict[str, list]:
    return {
        "qa": halueval.qa_examples(rows, ids, seed),
        "long": halueval.long_examples(rows, ids, seed + 1),
        "dialogue": halueval.dialogue_examples(rows, ids, seed + 2, lists),
    }


def featurize(examples: list) -> list[tuple[np.ndarray, list[int]]]:
    out = []
    for ex in examples:
        spans, rows = g.answer_features(ex.answer, ex.context, ex.question)
        out.append((rows, halueval.sentence_labels(ex, spans)))
    return out


# --- training -----------------------------------------------------------------------------


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iters: int = 50) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (p - y) + penalty * w
        hess = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def answer_scores(featured: list, weights: np.ndarray) -> np.ndarray:
    scorer = g.Scorer(weights[:-1], float(weights[-1]), 0.5)
    return np.array(
        [scorer.sentence_scores(rows).max() if len(rows) else 0.0 for rows, _ in featured]
    )


def best_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    candidates = np.unique(np.round(scores, 4))
    accs = [((scores >= t) == labels).mean() for t in candidates]
    return float(candidates[int(np.argmax(accs))])


# --- evaluation ---------------------------------------------------------------------------


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # average ranks of ties
    for value in np.unique(scores):
        tie = scores == value
        ranks[tie] = ranks[tie].mean()
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def length_baseline(train_ex: list, test_ex: list) -> dict[str, float]:
    """Answer length in characters, threshold and direction fitted on training rows."""

    def lengths(exs: list) -> np.ndarray:
        return np.array([len(e.answer) for e in exs], dtype=float)

    ytr = np.array([e.label for e in train_ex])
    yte = np.array([e.label for e in test_ex])
    best = (0.0, 0.0, 1.0)
    for sign in (1.0, -1.0):
        s = sign * lengths(train_ex)
        t = best_threshold(s, ytr)
        acc = ((s >= t) == ytr).mean()
        if acc > best[0]:
            best = (acc, t, sign)
    _, t, sign = best
    s = sign * lengths(test_ex)
    return {"accuracy": round(float(((s >= t) == yte).mean()), 4), "auc": round(auc(s, yte), 4)}


def length_balanced(examples: list, seed: int) -> list:
    """Equal grounded and hallucinated answers in every word-count bucket."""
    buckets: dict[int, dict[int, list]] = defaultdict(lambda: {0: [], 1: []})
    for e in examples:
        buckets[len(e.answer.split())][e.label].append(e)
    rng = np.random.default_rng(seed)
    out = []
    for b in sorted(buckets):
        n = min(len(buckets[b][0]), len(buckets[b][1]))
        for label in (0, 1):
            picks = rng.permutation(len(buckets[b][label]))[:n]
            out += [buckets[b][label][i] for i in sorted(picks)]
    return out


def evaluate(name: str, exs: list, featured: list, weights, threshold, train_ex) -> dict:
    y = np.array([e.label for e in exs])
    s = answer_scores(featured, weights)
    pred = s >= threshold
    tp, fp = int((pred & (y == 1)).sum()), int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    result = {
        "n": len(exs),
        "accuracy": round(float((pred == y).mean()), 4),
        "auc": round(auc(s, y), 4),
        "precision": round(tp / max(tp + fp, 1), 4),
        "recall": round(tp / max(tp + fn, 1), 4),
        "fpr": round(fp / max(int((y == 0).sum()), 1), 4),
        "length_baseline": length_baseline(train_ex, exs),
    }
    print(
        f"{name:<22} n={result['n']:<5} acc={result['accuracy']:.3f} auc={result['auc']:.3f} "
        f"P={result['precision']:.3f} R={result['recall']:.3f} FPR={result['fpr']:.3f} | "
        f"length-only acc={result['length_baseline']['accuracy']:.3f} "
        f"auc={result['length_baseline']['auc']:.3f}"
    )
    return result


def latency(scorer: g.Scorer, rows: list[dict], n: int = 300) -> dict[str, float]:
    """One ~100-token answer against four ~200-token passages, the whole check, passages
    not yet cached. Wall time and this process's CPU time: on a shared machine the wall
    clock also counts the time other processes held the core."""
    rng = np.random.default_rng(0)
    wall, cpu = [], []
    for k in range(n):
        picks = rng.choice(len(rows), 8, replace=False)
        passages = [
            " ".join((rows[int(i)]["knowledge"] + " " + rows[int(j)]["knowledge"]).split()[:200])
            for i, j in zip(picks[:4], picks[4:], strict=True)
        ]
        answer = " ".join(" ".join(passages).split()[k % 50 : k % 50 + 75])  # ~100 tokens
        g._passage.cache_clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        scorer.score(answer, passages, rows[int(picks[0])]["question"])
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)

    def pct(values: list[float], q: float) -> float:
        return round(float(np.percentile(values, q)), 2)

    return {
        "p50_ms": pct(wall, 50),
        "p99_ms": pct(wall, 99),
        "cpu_p50_ms": pct(cpu, 50),
        "cpu_p99_ms": pct(cpu, 99),
    }


def model_card(meta: dict, n_train: int, n_test: int) -> str:
    m = meta["metrics"]
    rows = [
        ("QA answers (HaluEval, held-out rows)", "qa"),
        ("QA answers balanced by word count", "qa_length_balanced"),
        ("long answers (3-4 sentences, one unsupported)", "long"),
        ("  of which: a sentence of another passage", "long_swap_only"),
        ("  of which: one name or number replaced", "long_substitution_only"),
        ("dialogue responses (held-out small talk + one claim)", "dialogue"),
        ("dialogue responses (small talk written after training)", "dialogue_fresh"),
    ]
    table = "\n".join(
        f"| {label} | {m[k]['n']} | {m[k]['accuracy']:.3f} | {m[k]['auc']:.3f} | "
        f"{m[k]['fpr']:.3f} | {m[k]['length_baseline']['accuracy']:.3f} |"
        for label, k in rows
    )
    features = "\n".join(f"- `{f}`" for f in meta["features"])
    return f"""# groundedness: unsupported sentences of an answer against retrieved passages

Served as the Triton model `groundedness` (deploy/local/model_server/groundedness_model.py),
called by the `groundedness` output check. Reproduce with
`OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/train_groundedness.py` (deterministic:
Newton's method in float64, fixed seed; weights reproduce within 1e-9).

## Intended use
Judge each sentence of a generated answer against the passages retrieval returned (RAG),
short answers included; report the sentences the passages do not support. Words of the
question are removed from a sentence before it is judged and never count as support.
The answer's score is its least supported sentence's; threshold {meta["threshold"]} (best
accuracy on the training rows over all shapes).

## Model
Logistic regression (L2) over {len(meta["features"])} support features of a sentence and
their pairwise products. No feature grows with the length of the sentence or the answer:
all are shares or yes/no flags.

{features}

## Training data
{meta["training_data"]}; sha256 {meta["training_data_sha256"]}.
{n_train} rows train, {n_test} rows held out (split by row before any answer is built).
From each row: the right (grounded) and hallucinated answers; a long answer built from the
row's passage sentences (some small words dropped, order shuffled) and its twin with one
sentence swapped for another row's passage sentence or one name/number replaced; a
dialogue response (small talk + one claim + sometimes a follow-up question) and its
twin with an unsupported claim. The context is always the row's passage plus three other
rows' passages. Training and test small talk come from disjoint lists.

## Evaluation (held-out rows; threshold fixed on training rows)
The length-only baseline is answer length in characters with threshold and direction
fitted on the training rows of the same shape.

| set | n | accuracy | AUC | FPR | length-only accuracy |
|---|---|---|---|---|---|
{table}

Latency of the whole check (features and scoring, one ~100-token answer against four
~200-token passages not seen before, one core, in the model): wall p50
{m["latency"]["p50_ms"]} ms, p99 {m["latency"]["p99_ms"]} ms; CPU time p50
{m["latency"]["cpu_p50_ms"]} ms, p99 {m["latency"]["cpu_p99_ms"]} ms (the wall clock also
counts other processes on a shared machine). Passages seen before are cached.

## Limitations
- Lexical: a paraphrase with other words for the same facts loses support; a wrong
  combination of words that all occur in the passages (the wrong one of two entities in a
  comparison question, a negation) is not caught. Many of HaluEval's hallucinated
  answers name the wrong option of a comparison question ("Who was born first, A or
  B?"), all of whose words are in the question and the passages: most recall lost on QA
  is there.
- Small talk and opinions carry no claim; they are recognised by the absence of names and
  numbers, first/second person and exclamations, so an invented claim phrased without
  names can pass, and unusual small talk with capitalised words can be flagged.
- The long and dialogue shapes are built from HaluEval passages; real dialogue and long
  generated answers were not available for evaluation here. The held-out small-talk list
  was looked at once in error analysis (it showed that a capitalised sentence-initial word
  was read as a name), so its figure is somewhat optimistic; the "written after
  training" list was not, and small talk is where the false positives are.
- Trained on QA answers alone (`--shapes qa`) the same features reach 0.979 on held-out
  QA but 0.870 on long answers and 0.545 on dialogue (small talk flagged): the built
  shapes in training are what keeps small talk and long answers right.
- English only (capitalisation marks names).
"""


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = halueval.load_rows(args.data)
    train_ids, test_ids = halueval.split_rows(len(rows), args.test_share, args.seed)
    train = build(rows, train_ids, args.seed, "train")
    test = build(rows, test_ids, args.seed + 100, "test")
    test["qa_length_balanced"] = length_balanced(test["qa"], args.seed)
    test["dialogue_fresh"] = halueval.dialogue_examples(rows, test_ids, 999, "fresh")
    shapes = args.shapes.split(",")
    print(f"rows: {len(train_ids)} train, {len(test_ids)} held out; shapes trained: {shapes}")

    train_feat = {k: featurize(v) for k, v in train.items()}
    x = np.vstack([rows_ for k in shapes for rows_, _ in train_feat[k] if len(rows_)])
    y = np.concatenate(
        [np.array(lab, dtype=float) for k in shapes for r, lab in train_feat[k] if len(r)]
    )
    weights = fit_logistic(g.expand(x), y, args.l2)
    train_all = [e for k in shapes for e in train[k]]
    threshold = best_threshold(
        answer_scores([f for k in shapes for f in train_feat[k]], weights),
        np.array([e.label for e in train_all]),
    )
    print(
        "weights:",
        dict(zip(g.FEATURES, np.round(weights[: len(g.FEATURES)], 3).tolist(), strict=True)),
    )
    print(f"bias {weights[-1]:.3f}, threshold {threshold}")

    metrics = {}
    for name, exs in test.items():
        base = train[name.split("_")[0]]
        metrics[name] = evaluate(name, exs, featurize(exs), weights, threshold, base)
    for how in ("swap", "substitution"):
        subset = [e for e in test["long"] if e.label == 0 or e.meta.get("how") == how]
        metrics[f"long_{how}_only"] = evaluate(
            f"long ({how})", subset, featurize(subset), weights, threshold, train["long"]
        )
    scorer = g.Scorer(weights[:-1], float(weights[-1]), threshold)
    metrics["latency"] = latency(scorer, rows)
    print("latency (100-token answer, 4 x 200-token passages, one core):", metrics["latency"])

    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            args.out.with_suffix(".npz"),
            weights=weights[:-1].astype(np.float64),
            bias=np.float64(weights[-1]),
        )
        meta = {
            "features": list(g.FEATURES),
            "threshold": threshold,
            "aggregation": "max over sentences",
            "training_data": halueval.SOURCE,
            "training_data_sha256": halueval.file_sha256(args.data),
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "metrics": metrics,
        }
        args.out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
        args.out.with_suffix(".md").write_text(model_card(meta, len(train_ids), len(test_ids)))
        print(f"wrote {args.out}.npz/.json/.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
