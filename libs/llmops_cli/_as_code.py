"""What prompts and policies as code share: reading a set of files, and pushing them one by one.

Every file is parsed before anything is pushed, so one bad file changes nothing; then the
files are pushed in order, and one file's failure does not stop the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from llmops_core.errors import InvalidArgumentError

# Moved by the service itself on every new version; a file may not name it.
AUTOMATIC_LABELS = ("latest",)
STATUSES = ("created", "unchanged", "failed")


class LoadedFile(Protocol):
    path: Path


class PushedFile(Protocol):
    """What pushing one file did, as the command shows it."""

    @property
    def path(self) -> Path: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def labels_moved(self) -> Sequence[str]: ...
    @property
    def error(self) -> str: ...
    @property
    def status(self) -> str:
        """One of STATUSES."""
        ...


@dataclass(frozen=True)
class Exported:
    """One file that export wrote."""

    path: Path
    name: str
    version: int
    labels: tuple[str, ...] = ()


F = TypeVar("F", bound=LoadedFile)
P = TypeVar("P", bound=PushedFile)


def load_files(
    paths: Sequence[Path],
    *,
    kind: str,
    suffix: str,
    load: Callable[[Path], F],
    name_of: Callable[[F], str],
    labels_of: Callable[[F], Sequence[str]],
) -> list[F]:
    """Parse every file; InvalidArgumentError names the first bad one.

    A folder stands for every ``*{suffix}`` file under it, as ``export`` lays them out.
    ``kind`` ("prompt", "policy") is what the files declare, one of it per file.
    """
    expanded: list[Path] = []
    for path in map(Path, paths):
        expanded += sorted(path.rglob(f"*{suffix}")) if path.is_dir() else [path]
    if not expanded:
        raise InvalidArgumentError(f"no *{suffix} {kind} files in {', '.join(map(str, paths))}")
    files = [load(p) for p in expanded]
    seen: dict[str, Path] = {}
    for loaded in files:
        name = name_of(loaded)
        first = seen.setdefault(name, loaded.path)
        if first != loaded.path:
            raise InvalidArgumentError(
                f"{first} and {loaded.path} both declare {kind} '{name}'; keep one file per {kind}"
            )
        automatic = [lb for lb in labels_of(loaded) if lb in AUTOMATIC_LABELS]
        if automatic:
            raise InvalidArgumentError(
                f"{loaded.path}: label '{automatic[0]}' moves by itself; leave it out of labels"
            )
    return files


async def push_each(
    files: Sequence[F],
    push_one: Callable[[F], Awaitable[P]],
    progress: Callable[[int, P], None] | None = None,
) -> list[P]:
    """``push_one`` every file in order, telling ``progress`` (from 1) after each."""
    pushed = []
    for index, loaded in enumerate(files, start=1):
        item = await push_one(loaded)
        pushed.append(item)
        if progress:
            progress(index, item)
    return pushed


def status(*, error: str, created: bool) -> str:
    if error:
        return "failed"
    return "created" if created else "unchanged"


def counts(pushed: Sequence[PushedFile]) -> dict[str, int]:
    """How many files ended in each of STATUSES."""
    return {s: sum(p.status == s for p in pushed) for s in STATUSES}
