"""Support features and the committed scorer: what counts as support, and what never does."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_guard_models import groundedness as g

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "groundedness.npz"
PASSAGES = [
    "The Oberoi Group is a hotel company with its head office in Delhi.",
    "KZPS (92.5 FM) is a classic rock station. Dr. J. Smith hosted the morning show on "
    "96.3 Rock Radio for 3.5 years.",
]
QUESTION = "The Oberoi family is part of a hotel company that has a head office in what city?"


def features(sentence: str, question: str = QUESTION) -> dict[str, float]:
    row = g.sentence_features(sentence, g.Passages.index(PASSAGES), g.question_words(question))
    return dict(zip(g.FEATURES, row, strict=True))


@pytest.fixture(scope="module")
def scorer() -> g.Scorer:
    return g.Scorer.load(ARTIFACT)


def test_question_words_never_count_as_support() -> None:
    restated = features("The Oberoi family hotel company is in Mumbai.")
    # "oberoi", "family", "hotel", "company" come from the question; only "mumbai" is judged.
    assert restated["unsupported_share"] == 1.0
    assert restated["any_unsupported_name"] == 1.0
    assert features("Delhi")["unsupported_share"] == 0.0


def test_a_sentence_made_only_of_question_words_has_nothing_new() -> None:
    assert features("The Oberoi family's hotel company.")["nothing_new"] == 1.0


def test_numbers_are_matched_whole() -> None:
    assert features("He hosted it for 3.5 years.", "")["any_unsupported_number"] == 0.0
    assert features("He hosted it for 7.5 years.", "")["any_unsupported_number"] == 1.0
    assert features("It is on 96.3 Rock Radio.", "")["unsupported_share"] == 0.0


def test_no_feature_grows_with_length() -> None:
    assert features("Dr. Smith hosted the morning show.", "") == features(
        "Dr. J. Smith hosted the morning show on 96.3 Rock Radio for 3.5 years.", ""
    )
    short = features("He moved to Paris.", "")
    assert short == features("He moved to Paris and to Lyon and then to Nice in winter.", "")
    assert all(0.0 <= v <= 1.0 for v in short.values())


def test_an_answer_repeated_scores_as_the_answer(scorer: g.Scorer) -> None:
    answer = "The head office is in Mumbai. KZPS is a classic rock station."
    once, _ = scorer.score(answer, PASSAGES, QUESTION)
    twice, sentences = scorer.score(f"{answer} {answer}", PASSAGES, QUESTION)
    assert len(sentences) == 4
    assert once == pytest.approx(twice)


def test_one_word_answers_are_judged(scorer: g.Scorer) -> None:
    supported, detail = scorer.score("Delhi", PASSAGES, QUESTION)
    invented, _ = scorer.score("Mumbai", PASSAGES, QUESTION)
    assert detail == [{"start": 0, "end": 5, "score": pytest.approx(supported, abs=1e-4)}]
    assert supported < scorer.threshold <= invented


def test_spans_are_code_point_offsets(scorer: g.Scorer) -> None:
    answer = "Zürich ist schön. The head office is in Delhi."
    _, detail = scorer.score(answer, PASSAGES, QUESTION)
    assert [answer[d["start"] : d["end"]] for d in detail] == [
        "Zürich ist schön.",
        "The head office is in Delhi.",
    ]


def test_empty_answer_and_hostile_sizes(scorer: g.Scorer) -> None:
    assert scorer.score("", PASSAGES, QUESTION) == (0.0, [])
    score, detail = scorer.score("Delhi. " * 1_000_000, ["x" * 10_000_000], "q " * 100_000)
    assert detail[-1]["end"] <= g.MAX_ANSWER_CHARS
    assert 0.0 <= score <= 1.0
    # Passages past the context budget, blank ones and none at all are read as no support.
    score, _ = scorer.score("Delhi.", ["x" * g.MAX_CONTEXT_CHARS, "Delhi.", " ", ""], "")
    assert score == scorer.score("Delhi.", ["x"], "")[0] == scorer.score("Delhi.", [], "")[0]
    assert score >= scorer.threshold


def test_a_model_trained_on_other_features_is_refused(tmp_path: Path) -> None:
    meta = ARTIFACT.with_suffix(".json").read_text().replace('"nothing_new"', '"other"')
    (tmp_path / "g.json").write_text(meta)
    (tmp_path / "g.npz").write_bytes(ARTIFACT.read_bytes())
    with pytest.raises(ValueError, match="trained on features"):
        g.Scorer.load(tmp_path / "g.npz")
