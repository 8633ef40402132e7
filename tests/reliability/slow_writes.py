"""Run the peaklens CLI with every bulk write of photos slowed down, as over a slow network.

Usage: python tests/reliability/slow_writes.py SECONDS peaklens-args...

Injected from outside by wrapping both stores' ``upsert_photos``: a test can then stop a server while a run is
surely still writing, however fast the machine embeds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any


def _slow(cls: Any, seconds: float) -> None:
    original = cls.upsert_photos

    def upsert_photos(self: Any, docs: Sequence[Any]) -> Any:
        time.sleep(seconds)
        return original(self, docs)

    cls.upsert_photos = upsert_photos


def main() -> None:
    seconds = float(sys.argv[1])
    from peaklens.store.elastic import ElasticStore
    from peaklens.store.embedded import EmbeddedStore

    _slow(EmbeddedStore, seconds)
    _slow(ElasticStore, seconds)
    sys.argv = ["peaklens", *sys.argv[2:]]
    from peaklens.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
