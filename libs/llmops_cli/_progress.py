"""A progress bar for long commands, on stderr and only on a terminal.

Pipes and CI logs get no carriage-return noise; JSON output on stdout is never touched.
"""

from __future__ import annotations

import sys
import time


class ProgressBar:
    WIDTH = 30

    def __init__(self, total: int, unit: str, *, stream=None) -> None:
        self.total = max(total, 1)
        self.unit = unit
        self.done = 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.enabled = self.stream.isatty()

    def advance(self, count: int) -> None:
        self.done = min(self.done + count, self.total)
        if not self.enabled:
            return
        filled = self.WIDTH * self.done // self.total
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {self.done}/{self.total} "
            f"{self.unit} ({rate:.0f}/s)"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
