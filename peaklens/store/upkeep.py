"""Upkeep failures (an index build, a compaction) that must not fail a run but must not go unseen either.

``refresh()`` keeps its signature and reports them as one ``StoreUpkeepWarning`` line; callers that talk to a
person forward it with ``refresh_and_report(store, say)``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from peaklens.store.base import PhotoStore


class StoreUpkeepWarning(UserWarning):
    """Searches still work, slower or staler; ``str()`` is the one line to show."""


def refresh_and_report(store: PhotoStore, say: Callable[[str], None]) -> None:
    """``store.refresh()``, each upkeep warning passed to ``say`` as one line instead of Python's format."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StoreUpkeepWarning)
        store.refresh()
    for warning in caught:
        if issubclass(warning.category, StoreUpkeepWarning):
            say(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
