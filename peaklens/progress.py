"""What a long run tells the person waiting: plain events, no terminal library.

Indexing and catalog builds report through ``RunEvents``: lines of plain text (a path is shown as it is, brackets
and all), and the progress of the embedding phase. The CLI renders them with rich, escaping what came from the
file system; tests and the UI pass ``QUIET`` or their own recorder.
"""

from __future__ import annotations

from typing import Protocol


class RunEvents(Protocol):
    def say(self, line: str) -> None:
        """One plain-text line for the person (a skipped photo, a catalog rebuild, an upkeep warning)."""

    def start(self, total: int) -> None:
        """The embedding phase begins with ``total`` photos to do."""

    def advance(self, count: int) -> None:
        """``count`` more photos are done."""

    def finish(self) -> None:
        """The embedding phase is over (also after an error)."""


class Quiet:
    """Events nobody watches."""

    def say(self, line: str) -> None:
        pass

    def start(self, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass

    def finish(self) -> None:
        pass


QUIET = Quiet()
