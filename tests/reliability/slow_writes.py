"""Run the peaklens CLI with every bulk write of photos slowed down, as over a slow network.

Usage: python tests/reliability/slow_writes.py SECONDS peaklens-args...

Injected from outside by wrapping both stores' ``upsert_photos``: a test can then stop a server while a run is
surely still writing, however fast the machine embeds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from wrapped_cli import run_cli_with  # a sibling: these files run as scripts


def main() -> None:
    seconds = float(sys.argv[1])

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def upsert_photos(self: Any, docs: Sequence[Any]) -> Any:
            time.sleep(seconds)
            return original(self, docs)

        return upsert_photos

    run_cli_with(wrap, sys.argv[2:])


if __name__ == "__main__":
    main()
