"""Support features of answer sentences against retrieved passages, and the scorer over them.

Imported by guard-models/train_groundedness.py and by the local model server, so training
and serving compute the same numbers. Pure Python plus numpy.

Every feature measures *support*, never size: shares and yes/no flags that do not grow
with the number of words or sentences of an answer. Words of the question are removed
from a sentence before it is judged and never count as support, so restating the
question earns nothing and a one-word answer is judged on that word alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from llmops_guard_models import sentences

# Numbers keep inner separators ("3.5", "1,200"); words keep inner apostrophes. Each
# repetition starts with a separator outside the preceding class: no backtracking.
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*")
_CITATION = re.compile(r"\[\d{1,4}(?:, ?\d{1,4}){0,20}\]")
# Bounds on the work of one check: an answer past MAX_ANSWER_CHARS is judged on its
# start; passages past MAX_CONTEXT_CHARS in total are not read (retrievers return a few
# short passages; a 10 MB "answer" must not hold the model for a minute).
MAX_ANSWER_CHARS = 20_000
MAX_CONTEXT_CHARS = 100_000
_PREFIX = 5  # shared prefix that counts as the same word ("directed" ~ "director")

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "then",
        "else",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "they",
        "them",
        "their",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "his",
        "her",
        "him",
        "i",
        "me",
        "my",
        "mine",
        "do",
        "does",
        "did",
        "done",
        "not",
        "no",
        "yes",
        "can",
        "could",
        "should",
        "would",
        "will",
        "may",
        "might",
        "must",
        "shall",
        "so",
        "such",
        "than",
        "too",
        "very",
        "also",
        "just",
        "only",
        "into",
        "onto",
        "over",
        "under",
        "about",
        "above",
        "below",
        "up",
        "down",
        "out",
        "off",
        "again",
        "more",
        "most",
        "some",
        "any",
        "each",
        "all",
        "both",
        "few",
        "other",
        "own",
        "same",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "has",
        "have",
        "had",
        "having",
        "use",
        "used",
        "using",
        "like",
        "well",
        "many",
        "much",
        "get",
        "gets",
        "got",
        "s",
        "t",
        "d",
        "ll",
        "re",
        "ve",
        "m",
        "o",
        "y",
        "am",
        "let",
        "lets",
        "one",
        "ones",
        "sure",
        "yeah",
        "oh",
        "ok",
        "okay",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "please",
        "know",
        "think",
        "really",
        "actually",
        "according",
        "however",
        "although",
        "though",
        "because",
        "while",
        "since",
        "several",
        "alright",
        "hmm",
        "ah",
        "aha",
        "oh",
        "wow",
        "um",
        "uh",
        "well",
        "yep",
        "nope",
        "indeed",
        "absolutely",
        "certainly",
        "definitely",
        "exactly",
        "totally",
        "honestly",
        "basically",
        "guess",
        "suppose",
    ]
)

FEATURES = (
    "nothing_new",  # every content word of the sentence is in the question
    "unsupported_share",  # share of the sentence's new words absent from the passages
    "unsupported_stem_share",  # the same on 5-letter prefixes (morphology, paraphrase)
    "unsupported_name_share",  # share of its new names and numbers absent from the passages
    "any_unsupported_name",  # a new name or number the passages never mention
    "any_unsupported_number",  # a number the passages never mention
    "no_names",  # the sentence names nothing new (no capitalised word, no number)
    "best_sentence_gap",  # 1 - share of new words found in the single best passage sentence
    "unsupported_bigram_share",  # word pairs absent from the passages (unigrams when < 2)
    "is_question",  # a question asks, it claims nothing
    "gap_times_names",  # unsupported_share when names are involved (claims about entities)
    "best_window_gap",  # 1 - share of ALL its words (question's too) in two adjacent passage sentences
    "question_link_gap",  # 1 - share of question words in the passage that best covers its new words
    "personal",  # I / you / we: chat talk rather than a claim about the world
    "exclaims",  # ends with "!"
)
_PERSONAL = re.compile(r"\b(?:I|I'm|I've|I'd|you|you're|your|we|we're|us|our|me|my|let's)\b", re.I)


class Token(NamedTuple):
    norm: str  # lowercased, folded
    is_name: bool  # capitalised word (not just sentence-initial) or number
    is_number: bool


def tokens(text: str) -> list[Token]:
    """Content tokens of `text` in order (stop words and citation marks dropped)."""
    out: list[Token] = []
    raws = _TOKEN.findall(_CITATION.sub(" ", text))
    bare = not any(r[0].islower() for r in raws)
    for i, raw in enumerate(raws):
        if raw[0].isdigit():
            out.append(Token(raw.replace(",", ""), True, True))
            continue
        low = _norm(raw)
        if not low:
            continue
        # A capital marks a name, except at the start of a sentence ("Glad to help."),
        # where a capitalised next word ("Pablo Trapero") or a bare span with no
        # lowercase word at all ("Mumbai", an answer that is just a name) says so.
        name = raw[0].isupper() and (i > 0 or bare or raws[1][0].isupper())
        out.append(Token(low, name, False))
    return out


def norms(text: str) -> list[str]:
    """The `norm`s of tokens(text), faster (passages need no more)."""
    out = []
    for raw in _TOKEN.findall(_CITATION.sub(" ", text)):
        norm = _norm(raw)
        if norm:
            out.append(norm)
    return out


@lru_cache(maxsize=65_536)
def _norm(raw: str) -> str:
    """A raw token's norm, "" for a stop word. Cached: passages repeat the same words."""
    if raw[0].isdigit():
        return raw.replace(",", "")
    low = raw.lower()
    if low.endswith(("'s", "’s")):
        low = low[:-2]
    return _fold(low) if low not in STOP_WORDS and len(low) > 1 else ""


def _fold(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass
class Passages:
    """What the passages offer as support, indexed once per request."""

    words: frozenset[str]
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    sentence_words: list[frozenset[str]]
    window_words: list[frozenset[str]]  # each sentence with the next one of its passage
    passage_words: list[frozenset[str]]

    @classmethod
    def index(cls, passages: Sequence[str]) -> Passages:
        words: set[str] = set()
        bigrams: set[tuple[str, str]] = set()
        sentence_words: list[frozenset[str]] = []
        window_words: list[frozenset[str]] = []
        passage_words: list[frozenset[str]] = []
        for passage in passages:
            own = _passage(passage)
            for found in own:
                words.update(found)
                bigrams.update(zip(found, found[1:], strict=False))
            sets = [frozenset(found) for found in own]
            if not sets:
                continue  # blank passage
            sentence_words += sets
            window_words += [a | b for a, b in zip(sets, sets[1:] + [frozenset()], strict=True)]
            passage_words.append(frozenset().union(*sets))
        return cls(
            frozenset(words),
            frozenset(w[:_PREFIX] for w in words),
            frozenset(bigrams),
            sentence_words,
            window_words,
            passage_words,
        )


@lru_cache(maxsize=4_096)
def _passage(passage: str) -> tuple[tuple[str, ...], ...]:
    """The norms of each sentence of a passage. Cached: retrieval returns the same
    passages to many questions, so most are read once."""
    return tuple(tuple(norms(passage[s:e])) for s, e in sentences.split(passage))


def sentence_features(sentence: str, passages: Passages, question: frozenset[str]) -> list[float]:
    """The FEATURES of one answer sentence (question words removed before judging)."""
    toks = tokens(sentence)
    new = [t for t in toks if t.norm not in question]
    is_question = float(sentence.rstrip().endswith("?"))
    chat = [float(bool(_PERSONAL.search(sentence))), float(sentence.rstrip().endswith("!"))]
    everything = {t.norm for t in toks}
    window_gap = _best_gap(everything, passages.window_words)
    if not new:
        return [
            1.0,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            1.0,
            0.0,
            0.0,
            is_question,
            0.0,
            window_gap,
            0.0,
            *chat,
        ]
    missing = [t.norm not in passages.words for t in new]
    unsupported = sum(missing) / len(new)
    stem_gap = sum(t.norm[:_PREFIX] not in passages.stems for t in new) / len(new)
    names = [m for t, m in zip(new, missing, strict=True) if t.is_name]
    numbers = [m for t, m in zip(new, missing, strict=True) if t.is_number]
    name_gap = sum(names) / len(names) if names else 0.0
    new_set = {t.norm for t in new}
    best = max((len(new_set & s) for s in passages.sentence_words), default=0) / len(new_set)
    seq = [t.norm for t in toks]
    pairs = list(zip(seq, seq[1:], strict=False))
    if pairs:
        bigram_gap = sum(p not in passages.bigrams for p in pairs) / len(pairs)
    else:
        bigram_gap = unsupported
    if question:
        link = max(
            (len(new_set & p) * len(question & p) for p in passages.passage_words), default=0
        )
        link_gap = 1.0 - link / (len(new_set) * len(question))
    else:
        link_gap = 0.0  # no question: no evidence either way
    return [
        0.0,
        unsupported,
        stem_gap,
        name_gap,
        float(any(names)),
        float(any(numbers)),
        float(not names),
        1.0 - best,
        bigram_gap,
        is_question,
        unsupported * float(bool(names)),
        window_gap,
        link_gap,
        *chat,
    ]


def _best_gap(words: set[str], pieces: list[frozenset[str]]) -> float:
    if not words:
        return 0.0
    return 1.0 - max((len(words & p) for p in pieces), default=0) / len(words)


def question_words(question: str) -> frozenset[str]:
    return frozenset(t.norm for t in tokens(question))


def answer_features(
    answer: str, passages: Sequence[str], question: str
) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Sentence spans of `answer` and one feature row per sentence."""
    kept, budget = [], MAX_CONTEXT_CHARS
    for passage in passages:
        if budget <= 0:
            break
        kept.append(passage[:budget])
        budget -= len(kept[-1])
    index = Passages.index(kept)
    asked = question_words(question[:MAX_ANSWER_CHARS])
    spans = sentences.split(answer[:MAX_ANSWER_CHARS])
    rows = [sentence_features(answer[s:e], index, asked) for s, e in spans]
    return spans, np.asarray(rows, dtype=np.float64).reshape(len(spans), len(FEATURES))


_PAIRS = np.triu_indices(len(FEATURES), k=1)


def expand(rows: np.ndarray) -> np.ndarray:
    """The features and their pairwise products: how support combines is learned too
    (a missing name matters more in a claim than in small talk)."""
    return np.hstack([rows, rows[:, _PAIRS[0]] * rows[:, _PAIRS[1]]])


@dataclass(frozen=True)
class Scorer:
    """Logistic regression over expand(FEATURES); an answer scores as its least supported
    sentence."""

    weights: np.ndarray
    bias: float
    threshold: float

    @classmethod
    def load(cls, npz_path: Path) -> Scorer:
        meta = json.loads(npz_path.with_suffix(".json").read_text())
        if tuple(meta["features"]) != FEATURES:
            raise ValueError(f"{npz_path}: trained on features {meta['features']}, not {FEATURES}")
        with np.load(npz_path) as arrays:
            return cls(
                arrays["weights"].astype(np.float64), float(arrays["bias"]), meta["threshold"]
            )

    def sentence_scores(self, rows: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(expand(rows) @ self.weights + self.bias)))

    def score(
        self, answer: str, passages: Sequence[str], question: str
    ) -> tuple[float, list[dict[str, float | int]]]:
        """The answer's probability of unsupported content and every sentence's own."""
        spans, rows = answer_features(answer, passages, question)
        if not spans:
            return 0.0, []
        probs = self.sentence_scores(rows)
        # Offsets in code points: Python string indices already are.
        detail = [
            {"start": s, "end": e, "score": round(float(p), 4)}
            for (s, e), p in zip(spans, probs, strict=True)
        ]
        return float(probs.max()), detail
