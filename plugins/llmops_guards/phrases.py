"""Banned phrases: configured literals found case- and width-insensitively, as whole words.

Text and phrases are folded the same way, character by character: compatibility
decomposition (NFKD, the decomposing twin of NFKC), casefold, nonspacing marks dropped.
So "Ｆｏｏ", "FOO" and "foo" are one phrase, "Straße" matches "strasse", and an accent,
composed or not, neither hides a phrase ("vi\u0301agra") nor splits a word. The phrases compile into one
trie-shaped regex: at each position at most one branch can go on, so a search costs
the text's length times the longest phrase, however many phrases there are. A phrase
that begins or ends with a letter or digit must stand alone there ("ban" does not fire
inside "banner"); whitespace inside a phrase matches any run of whitespace.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from typing import ClassVar

from pydantic import Field, field_validator

from llmops_core import Finding, GuardInput, PluginContext
from llmops_guards._base import Action, GuardConfig, LocalGuard

MAX_PHRASES = 5000
MAX_PHRASE_CHARS = 200

_X = re.compile("x")
_WORD_CHAR = re.compile(r"\w")
_SPACES = re.compile(r"\s+")


class _FoldTable(dict[int, str]):
    """Code point -> its folded form (filled on first sight)."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFKD", chr(code)).casefold()
        folded = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
        self[code] = folded
        return folded


class _IrregularTable(dict[int, str]):
    """Code point -> "." when it folds to exactly one character, else "x"."""

    def __missing__(self, code: int) -> str:
        irregular = "." if len(_TABLE[code]) == 1 else "x"
        self[code] = irregular
        return irregular


_TABLE = _FoldTable()
_IRREGULAR = _IrregularTable()


def fold(text: str) -> str:
    """The form text and phrases are compared in. Folding character by character keeps
    offsets mappable; decomposing rather than composing makes "é" and "e" + U+0301 one
    form, which per-character NFKC could not."""
    return text.lower() if text.isascii() else text.translate(_TABLE)


class FoldedText:
    """``text`` folded, with a map from folded offsets back to the original's.

    Nearly every character folds to one character; the map records only those that fold
    to several ("ß", ligatures) or to none (a lone combining accent), so it costs little.
    """

    def __init__(self, text: str) -> None:
        self.folded = fold(text)
        self._text = text
        # Per irregular character: its folded start, and its original offset and length.
        self._folded_starts: list[int] = []
        self._expansions: list[tuple[int, int]] = []
        if text.isascii():
            return
        # One character of "x" per irregular character, at its offset: found at C speed.
        extra = 0
        for irregular in _X.finditer(text.translate(_IRREGULAR)):
            offset = irregular.start()
            length = len(_TABLE[ord(text[offset])])
            self._folded_starts.append(offset + extra)
            self._expansions.append((offset, length))
            extra += length - 1

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering folded ``[start, end)``, with the marks of its last
        character."""
        end = self._original(end - 1) + 1
        while end < len(self._text) and unicodedata.category(self._text[end]) == "Mn":
            end += 1
        return self._original(start), end

    def _original(self, position: int) -> int:
        index = bisect.bisect_right(self._folded_starts, position) - 1
        if index < 0:
            return position
        offset, length = self._expansions[index]
        inside = position - self._folded_starts[index]
        return offset if inside < length else offset + 1 + inside - length


def _trie_pattern(phrases: list[str]) -> str:
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for token in _tokens(phrase):
            node = node.setdefault(token, {})
        node[""] = {}  # a phrase ends here
    return _node_pattern(trie, first=True)


def _tokens(phrase: str) -> list[str]:
    """A phrase's characters, each run of whitespace one token."""
    return [m.group() if not m.group().isspace() else " " for m in re.finditer(r"\s+|.", phrase)]


def _node_pattern(node: dict, first: bool = False) -> str:
    """The trie below ``node`` as a regex. Word bounds are checked only where a phrase
    has a word character at its edge; the first character stays a plain literal so the
    regex engine skips the positions that no phrase starts with."""
    branches = []
    for token in sorted(k for k in node if k):
        wordy = _WORD_CHAR.fullmatch(token) is not None
        pattern = r"\s+" if token == " " else re.escape(token)
        if first and wordy:
            pattern += r"(?<!\w\w)"  # not starting inside a word
        child = node[token]
        if "" in child and wordy:
            child = {**child, "": {"word_end": {}}}
        branches.append(pattern + _node_pattern(child))
    if "" in node:
        # Last, so that the longest phrase wins; a word may not go on past its end.
        branches.append(r"(?!\w)" if "word_end" in node[""] else "")
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


class BannedPhrasesConfig(GuardConfig):
    action: Action = "redact"
    phrases: list[str] = Field(default_factory=list, max_length=MAX_PHRASES)

    @field_validator("phrases")
    @classmethod
    def _usable(cls, phrases: list[str]) -> list[str]:
        for index, phrase in enumerate(phrases):
            if not phrase.strip():
                raise ValueError(f"phrase {index} is empty")
            if len(phrase) > MAX_PHRASE_CHARS:
                raise ValueError(f"phrase {index} is longer than {MAX_PHRASE_CHARS} characters")
        return phrases


class BannedPhrasesGuard(LocalGuard):
    name: ClassVar[str] = "banned-phrases"
    Config: ClassVar[type[GuardConfig]] = BannedPhrasesConfig
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})
    description: ClassVar[str] = (
        "Configured phrases, matched as whole words ignoring case, width and accents' encoding."
    )
    categories: ClassVar[tuple[str, ...]] = ("banned_phrase",)
    supports_redaction: ClassVar[bool] = True
    needs_context: ClassVar[bool] = False

    def __init__(self, config: BannedPhrasesConfig, context: PluginContext) -> None:
        super().__init__(config, context)
        folded = sorted({_SPACES.sub(" ", fold(p).strip()) for p in config.phrases})
        self._pattern = re.compile(_trie_pattern(folded)) if folded else None

    async def check(self, item: GuardInput) -> list[Finding]:
        if self._pattern is None or not item.text:
            return []
        text = FoldedText(item.text)
        spans = [text.span(*m.span()) for m in self._pattern.finditer(text.folded)]
        spans = [s for s in spans if s[0] < s[1]]
        if not spans:
            return []
        return [Finding("banned_phrase", 1.0, f"{len(spans)} banned phrase(s) found", tuple(spans))]
