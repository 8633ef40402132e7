"""Run the peaklens CLI with a power cut in the middle of the N-th bulk write of photos.

Usage: python tests/reliability/kill_in_write.py N peaklens-args...

The fault is injected from outside, by wrapping both stores' ``upsert_photos``: the N-th call writes the first
half of its documents, then the process SIGKILLs itself, as a power cut during a bulk request would.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from typing import Any


def _wrap(cls: Any, target: int) -> None:
    original = cls.upsert_photos
    calls = {"n": 0}

    def upsert_photos(self: Any, docs: Sequence[Any]) -> Any:
        calls["n"] += 1
        if calls["n"] == target:
            original(self, docs[: max(1, len(docs) // 2)])
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, docs)

    cls.upsert_photos = upsert_photos


def main() -> None:
    target = int(sys.argv[1])
    from peaklens.store.elastic import ElasticStore
    from peaklens.store.embedded import EmbeddedStore

    _wrap(EmbeddedStore, target)
    _wrap(ElasticStore, target)
    sys.argv = ["peaklens", *sys.argv[2:]]
    from peaklens.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
