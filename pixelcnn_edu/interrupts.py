"""Ctrl-C and SIGTERM during training: a stop at the next batch boundary, and critical sections that
no signal cuts short.

The first Ctrl-C (SIGINT), or a SIGTERM, only records a request that ``train.fit`` reads at the next
batch boundary. A second Ctrl-C means "stop now": outside a critical section it raises
KeyboardInterrupt at once; inside one (the optimizer step with the EMA update and the step's record,
the end of an epoch, a checkpoint save) it is only recorded and raised as soon as the section ends.
So the state that is saved is always a whole one (the step applied to every parameter or to none,
the average updated with it) and a save, once begun, always completes.

Python runs a signal handler in the main thread, between two bytecodes. Elsewhere signals cannot be
caught: Ctrl-C stays an exception, and no signal can arrive inside a section there either.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


class StopRequests:
    """SIGINT and SIGTERM set ``reason`` instead of raising; a second SIGINT raises
    KeyboardInterrupt, at once or, inside :meth:`critical`, when the section ends."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._depth = 0  # critical sections entered and not yet left
        self._deferred = False  # a second Ctrl-C arrived inside a section

    def _handle(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and self.reason is not None:
            if self._depth:
                self._deferred = True
                return
            raise KeyboardInterrupt
        self.reason = self.reason or signal.Signals(signum).name

    @contextmanager
    def critical(self, *, then_raise: bool = True) -> Iterator[None]:
        """A section that a signal never interrupts. A second Ctrl-C received inside it raises
        KeyboardInterrupt right after it (``then_raise=False``: only when a later section ends, for
        code that raises anyway). An exception raised by the section itself goes through as it is."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if then_raise and self._deferred and not self._depth:
            self._deferred = False
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator["StopRequests"]:
        """Handle SIGINT and SIGTERM while inside; the previous handlers are restored on leaving."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
