"""One indexing run at a time per embedded store.

The embedded store is a folder on one machine, so an OS file lock (``fcntl.flock``) serialises writers; the
kernel drops it when the process dies, so a killed run never leaves a stale lock. Elasticsearch needs none:
every write is an idempotent upsert by document id, so two runs over the same album both finish with the same
documents.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from peaklens.config import Settings
from peaklens.errors import PeaklensError


class StoreBusy(PeaklensError):
    """Another run is writing to the same store."""


@contextlib.contextmanager
def index_lock(settings: Settings) -> Iterator[None]:
    if settings.store != "embedded":
        yield
        return
    import fcntl

    folder = Path(settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise StoreBusy(
                f"Another `peaklens index` ({holder}) is writing to the store in {folder}; "
                "wait for it to finish, then run again."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
