"""Servers a test starts end with the test run that started them, however that run ends.

A fixture's ``finally`` stops its server when pytest finishes or a test fails, but not when pytest itself is
killed (a CI timeout's SIGTERM, SIGKILL, an OOM kill): then the server would keep serving, holding its port
and its files. So each server is started with Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG)``) set
in the child before it runs: the kernel sends it the signal the moment the process that started it dies,
whatever killed it. The signal is SIGTERM by default, so a launcher (``peaklens ui``) passes it on to its
own server as it would on ``kill``. The kernel ties it to the starting *thread*: start servers from the
test's own thread (fixtures do), never from a worker thread that ends first.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable
from typing import Any

PR_SET_PDEATHSIG = 1


def dies_with_this_process(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` that asks the kernel to send ``sig`` to the child when this process dies."""
    parent = os.getpid()

    def arm() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the starter died between fork and prctl: nobody will signal us
            os.kill(os.getpid(), sig)

    return arm


def start_tied(command: list[str], sig: int = signal.SIGTERM, **popen: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen(command, **popen)`` for a server that must not outlive this test run."""
    return subprocess.Popen(command, preexec_fn=dies_with_this_process(sig), **popen)
