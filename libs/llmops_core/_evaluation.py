"""Quality of a detector over labelled examples: the figures `guard eval` and RunEvaluation report.

One implementation serves the guardrails service (per call) and the CLI (which merges the
examples of many calls), so both print the same numbers for the same examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WORST_MISSES = 10


@dataclass(frozen=True)
class ScoredExample:
    """One example as a check saw it: the label, the verdict, the score and the time."""

    expected: bool
    flagged: bool
    score: float
    latency_ms: float
    error: bool = False
    id: str = ""
    text: str = ""


@dataclass(frozen=True)
class DetectionReport:
    examples: int
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    false_positive_rate: float
    auc: float  # 0 when only one class is present
    target_fpr: float
    recall_at_fpr: float  # recall at the lowest threshold whose FPR is at most target_fpr
    threshold_at_fpr: float
    latency_mean_ms: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    errors: int
    worst_misses: tuple[ScoredExample, ...]  # lowest-scored positives, highest-scored negatives


def detection_report(
    examples: Sequence[ScoredExample], *, target_fpr: float = 0.05
) -> DetectionReport:
    tp = sum(e.expected and e.flagged for e in examples)
    fp = sum(not e.expected and e.flagged for e in examples)
    tn = sum(not e.expected and not e.flagged for e in examples)
    fn = sum(e.expected and not e.flagged for e in examples)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    positives = [e.score for e in examples if e.expected]
    negatives = [e.score for e in examples if not e.expected]
    recall_at, threshold_at = recall_at_fpr(positives, negatives, target_fpr)
    latencies = sorted(e.latency_ms for e in examples)
    missed = sorted((e for e in examples if e.expected and not e.flagged), key=lambda e: e.score)
    false_alarms = sorted(
        (e for e in examples if not e.expected and e.flagged), key=lambda e: -e.score
    )
    return DetectionReport(
        examples=len(examples),
        true_positives=tp,
        false_positives=fp,
        true_negatives=tn,
        false_negatives=fn,
        precision=precision,
        recall=recall,
        f1=f1,
        false_positive_rate=fp / (fp + tn) if fp + tn else 0.0,
        auc=roc_auc(positives, negatives),
        target_fpr=target_fpr,
        recall_at_fpr=recall_at,
        threshold_at_fpr=threshold_at,
        latency_mean_ms=sum(latencies) / len(latencies) if latencies else 0.0,
        latency_p50_ms=percentile(latencies, 50),
        latency_p95_ms=percentile(latencies, 95),
        latency_p99_ms=percentile(latencies, 99),
        errors=sum(e.error for e in examples),
        worst_misses=tuple(missed[:WORST_MISSES] + false_alarms[:WORST_MISSES]),
    )


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The probability that a positive outscores a negative (ties count half)."""
    if not positives or not negatives:
        return 0.0
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, index = 0.0, 0
    while index < len(ranked):
        end = index
        while end < len(ranked) and ranked[end][0] == ranked[index][0]:
            end += 1
        mean_rank = (index + 1 + end) / 2  # ranks index+1 .. end share their mean
        rank_sum += mean_rank * sum(label for _, label in ranked[index:end])
        index = end
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def recall_at_fpr(
    positives: Sequence[float], negatives: Sequence[float], target_fpr: float
) -> tuple[float, float]:
    """(recall, threshold) at the lowest score threshold whose false-positive rate is at most
    ``target_fpr``; a score at or over the threshold counts as flagged."""
    if not positives:
        return 0.0, 1.0
    allowed = math.floor(target_fpr * len(negatives) + 1e-9)  # negatives that may pass it
    ordered = sorted(negatives, reverse=True)
    if allowed >= len(ordered):
        threshold = min(min(positives), min(ordered, default=0.0))
    else:
        # Just above the highest negative that must stay under the threshold.
        threshold = math.nextafter(ordered[allowed], math.inf)
    recall = sum(s >= threshold for s in positives) / len(positives)
    return recall, threshold


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence; 0 when it is empty."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
