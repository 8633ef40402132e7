"""Run the peaklens CLI with a power cut in the middle of the N-th bulk write of photos.

Usage: python tests/reliability/kill_in_write.py N peaklens-args...

The fault is injected from outside, by wrapping both stores' ``upsert_photos``: the N-th call writes the first
half of its documents, then the process SIGKILLs itself, as a power cut during a bulk request would.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from wrapped_cli import run_cli_with  # a sibling: these files run as scripts


def main() -> None:
    target = int(sys.argv[1])
    calls = {"n": 0}

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def upsert_photos(self: Any, docs: Sequence[Any]) -> Any:
            calls["n"] += 1  # counted over both stores: one of them is in use
            if calls["n"] == target:
                original(self, docs[: max(1, len(docs) // 2)])
                os.kill(os.getpid(), signal.SIGKILL)
            return original(self, docs)

        return upsert_photos

    run_cli_with(wrap, sys.argv[2:])


if __name__ == "__main__":
    main()
