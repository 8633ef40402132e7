"""One indexing run at a time per embedded store.

The embedded store is a folder on one machine, so an OS file lock (``fcntl.flock``) serialises writers; the
kernel drops it when the process dies, so a killed run never leaves a stale lock. The lock is re-entrant within
one thread: ``peaklens index`` takes it before anything else (a second run is refused at once, not after the
model has loaded) and the indexing code under it takes it again; another thread of the same process (a UI
building the catalog while an upload is indexed) is refused like another process. Elasticsearch needs none:
every write is an idempotent upsert by document id, so two runs over the same album both finish with the same
documents.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from peaklens.config import Settings
from peaklens.errors import PeaklensError, StoreUnavailable

#: (store folder, thread) pairs holding the lock, with how many nested holders
_held: dict[tuple[Path, int], int] = {}


class StoreBusy(PeaklensError):
    """Another run is writing to the same store."""


@contextlib.contextmanager
def index_lock(settings: Settings) -> Iterator[None]:
    if settings.store != "embedded":
        yield
        return
    import fcntl

    folder = Path(settings.data_dir)
    try:  # the first thing `index` does: a store folder that cannot be made is said here, in one line
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.lock").touch()
    except OSError as exc:
        raise StoreUnavailable(f"Cannot create the embedded store in {folder}: {exc.strerror}.") from None
    key = (folder.resolve(), threading.get_ident())
    if key in _held:
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
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
        _held[key] = 1
        try:
            yield
        finally:
            del _held[key]
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
