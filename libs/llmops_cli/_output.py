"""How commands print: human lines, or one JSON document with ``--json``."""

from __future__ import annotations

import json
import sys
from typing import Any


class Output:
    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def line(self, text: str = "") -> None:
        """Human progress and results (stderr when --json, so stdout stays parseable)."""
        print(text, file=sys.stderr if self.as_json else sys.stdout, flush=True)

    def result(self, data: Any, human: str | None = None) -> None:
        if self.as_json:
            json.dump(data, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        elif human is not None:
            print(human)

    def error(self, message: str) -> None:
        if self.as_json:
            json.dump({"error": message}, sys.stdout)
            sys.stdout.write("\n")
        print(f"error: {message}", file=sys.stderr)
