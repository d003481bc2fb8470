"""Messages from concurrent requests handed to the engine in batches, one batch at a time per process."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from bot.messages import Incoming

MAX_BATCH = 64

Answer = TypeVar("Answer")


class TurnQueue(Generic[Answer]):
    """Queues the messages of concurrent requests and hands them to `decide` in batches.

    While one batch is in the database, new messages wait; the next batch takes all of them (up to
    `max_batch`). Under light load a batch is a single message and nothing waits; in a burst the
    transaction's fixed costs are shared by the whole batch. One batch at a time keeps a worker's
    database work in one thread instead of many threads contending for the interpreter.
    """

    def __init__(self, decide: Callable[[Sequence[Incoming]], list[Answer]], *, max_batch: int = MAX_BATCH):
        """`decide` answers a batch of messages, one answer each, in order (the engine's replies, ...)."""
        self.decide = decide
        self.max_batch = max_batch
        self._waiting: list[tuple[Incoming, asyncio.Future[Answer]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def handle(self, incoming: Incoming) -> Answer:
        """The answer to one message, decided together with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        if self._runner is not None and self._runner.get_loop() is not loop:
            raise RuntimeError("a TurnQueue serves one event loop: give each worker's application its own")
        future: asyncio.Future[Answer] = loop.create_future()
        self._waiting.append((incoming, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._drain(), name="turn-queue")
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[Incoming, asyncio.Future[Answer]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
                try:
                    results = await asyncio.to_thread(self.decide, [incoming for incoming, _ in batch])
                except Exception as error:  # `decide` answers failures itself; this is a bug: pass it on
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), replies in zip(batch, results, strict=True):
                    if not future.done():  # its request may have been cancelled meanwhile
                        future.set_result(replies)
        except asyncio.CancelledError:  # the worker is stopping: no request waits for an answer forever
            for _, future in (*batch, *self._waiting):
                future.cancel()
            self._waiting = []
            raise
        finally:
            self._runner = None
