"""A pool of sandboxes started ahead of need (each serves exactly one job).

Both backends keep one: bubblewrap keeps Python interpreters waiting for their code, Docker
keeps running containers. The pool is refilled in a background thread *after* a job took an
entry, so that starting the next sandbox does not compete with the job for the CPU.

The filler is one thread that lives as long as the pool: a sandbox started with
``--die-with-parent`` is killed when the *thread* that started it ends (the kernel's parent-death
signal follows the thread), so a short-lived filler would kill what it just started.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["WarmPool"]

T = TypeVar("T")


class WarmPool(Generic[T]):
    """Up to ``size`` started entries.

    Parameters
    ----------
    start
        Starts one entry (called in a background thread; an exception stops that refill).
    discard
        Ends an entry that will not be used.
    alive
        Whether an entry can still serve a job (a container may have died while waiting).
    name
        The refill thread's name.
    """

    def __init__(
        self,
        start: Callable[[], T],
        discard: Callable[[T], None],
        *,
        alive: Callable[[T], bool] = lambda _: True,
        name: str = "arena-kit-warm",
    ) -> None:
        self._start = start
        self._discard = discard
        self._alive = alive
        self._name = name
        self._entries: list[T] = []
        self._size = 0
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._filler: threading.Thread | None = None
        self.last_error: Exception | None = None
        """Why the last start failed (the pool tries again at the next refill)."""
        self._inherited: list[T] = []
        os.register_at_fork(after_in_child=self._forget_after_fork)

    def _forget_after_fork(self) -> None:
        # A forked child (a process pool's worker) must not use its parent's entries (their
        # pipes and processes are the parent's) nor its filler thread (threads are not
        # copied). It starts empty; the entries are kept referenced, never ended, here.
        self._inherited = self._entries
        self._entries = []
        self._lock = threading.Lock()
        self._wanted = threading.Event()
        self._filler = None

    @property
    def size(self) -> int:
        """How many entries the pool keeps (0: off)."""
        return self._size

    def resize(self, size: int) -> None:
        """Keep ``size`` entries started; 0 ends them all."""
        if size < 0:
            raise ValueError(f"a warm pool's size must be 0 or more, not {size}")
        self._size = size
        with self._lock:
            extra, self._entries = self._entries[size:], self._entries[:size]
        for entry in extra:
            self._discard(entry)
        self.refill()

    def take(self) -> T | None:
        """A started entry (the caller owns it now), or None when the pool is empty or off."""
        while self._size:
            with self._lock:
                entry = self._entries.pop(0) if self._entries else None
            if entry is None or self._alive(entry):
                return entry
            self._discard(entry)
        return None

    def refill(self) -> None:
        """Start entries in the background until the pool is full."""
        with self._lock:
            if len(self._entries) >= self._size:
                return
            if self._filler is None:
                self._filler = threading.Thread(target=self._fill, daemon=True, name=self._name)
                self._filler.start()
        self._wanted.set()

    def _fill(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            while True:
                with self._lock:
                    if len(self._entries) >= self._size:
                        break
                try:
                    entry = self._start()
                except Exception as error:  # e.g. the engine went away: try at the next refill
                    self.last_error = error
                    break
                with self._lock:
                    wanted = len(self._entries) < self._size
                    if wanted:
                        self._entries.append(entry)
                if not wanted:  # closed (or shrunk) while this one was starting
                    self._discard(entry)
                    break

    def close(self) -> None:
        """End every waiting entry and stop keeping any."""
        self._size = 0
        with self._lock:
            entries, self._entries = self._entries, []
        for entry in entries:
            self._discard(entry)
