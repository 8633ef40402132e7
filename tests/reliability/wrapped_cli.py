"""Run the peaklens CLI with both stores' ``upsert_photos`` wrapped: faults injected from outside."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Wrap = Callable[[Callable[..., Any]], Callable[..., Any]]


def run_cli_with(wrap: Wrap, args: list[str]) -> None:
    """Replace ``upsert_photos`` of both stores by ``wrap(original)``, then run ``peaklens ARGS``."""
    from peaklens.store.elastic import ElasticStore
    from peaklens.store.embedded import EmbeddedStore

    for cls in (EmbeddedStore, ElasticStore):
        cls.upsert_photos = wrap(cls.upsert_photos)  # type: ignore[method-assign]
    sys.argv = ["peaklens", *args]
    from peaklens.cli import main as cli_main

    cli_main()
