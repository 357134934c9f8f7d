"""Clean-up off a run's critical path.

A run's result is returned while its work directory is unmounted and removed and its cgroup
deleted behind it, in one background thread. Only clean-up of what is already dead goes here:
the processes of a run are killed (and their cgroup emptied) before its clean-up is deferred.
What is still queued when the interpreter exits is done then; what a killed process leaves
behind, the next arena-kit process removes (``remove_stale_workdirs``, ``cgroups.remove_stale``).
"""

from __future__ import annotations

import atexit
import contextlib
import queue
import threading
from collections.abc import Callable

__all__ = ["defer", "drain"]

_queue: queue.Queue[Callable[[], None]] = queue.Queue()
_lock = threading.Lock()
_thread: list[threading.Thread] = []


def _work() -> None:
    while True:
        task = _queue.get()
        try:
            with contextlib.suppress(Exception):  # clean-up is best effort; stale removal follows
                task()
        finally:
            _queue.task_done()


def defer(task: Callable[[], None]) -> None:
    """Run ``task`` (a clean-up) soon, in the background."""
    with _lock:
        if not _thread:
            thread = threading.Thread(target=_work, daemon=True, name="arena-kit-reaper")
            thread.start()
            _thread.append(thread)
    _queue.put(task)


def drain() -> None:
    """Wait until every deferred clean-up is done."""
    if _thread:
        _queue.join()


atexit.register(drain)
