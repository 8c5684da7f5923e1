"""Wake-ups for long-polling readers of the change feed.

The change feed itself lives in the database (table ``events``), so every API process sees
every change. This notifier only shortens the wait inside one process: a writer that has
committed events calls :meth:`Notifier.notify`, and waiting readers in the same process look
again at once instead of at their next periodic poll.
"""

from __future__ import annotations

import asyncio
import threading


class Notifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def notify(self, user_id: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(user_id, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def wait(self, user_id: str, timeout: float) -> None:
        """Return when ``user_id`` has news in this process, or after ``timeout`` seconds."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.setdefault(user_id, set()).add(entry)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                waiters = self._waiters.get(user_id)
                if waiters is not None:
                    waiters.discard(entry)
                    if not waiters:
                        del self._waiters[user_id]
