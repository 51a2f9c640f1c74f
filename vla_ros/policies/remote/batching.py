# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Dynamic batching for ``vla-ros serve``: requests of several clients, one forward pass.

Each connection's thread submits its request and waits; one worker thread runs the policy. The
worker takes the oldest request, then collects more until it holds ``max_batch``, or every open
client has one waiting (each client has at most one request in flight, so none can join), or
``window_ms`` have passed since the first arrived; then it runs them as one batch, in arrival
order. ``max_batch`` 1 is the one-at-a-time server: each request runs alone, in arrival order.

Noise: a policy that implements ``BatchPolicy`` (the flow family) gives each client its own
noise stream, seeded as a freshly loaded policy is, and draws every row's noise from its
client's stream. A client's chunks therefore are those it would get with the server to itself,
in either mode and whatever the other clients send (equal up to rounding in a batch: a batched
matrix product may round differently, within 1e-6 rad on the test checkpoint). A family without
``infer_batch`` runs the collected requests one by one through ``infer``, sharing its noise.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
import threading
import time
from typing import Any, Protocol, runtime_checkable, TYPE_CHECKING, TypeVar

from vla_ros.core.errors import ConfigError, VlaRosError

if TYPE_CHECKING:
    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.base import Policy

__all__ = ['BatchOptions', 'BatchPolicy', 'Batcher', 'ClientSlot', 'Served']

StreamT = TypeVar('StreamT')
_POLL_S = 0.1  # how often waiting threads look whether the batcher closed


@runtime_checkable
class BatchPolicy(Protocol[StreamT]):
    """A policy that runs several clients' observations as one batch (``FlowPolicy``)."""

    def new_noise_stream(self) -> StreamT:
        """Sampling state for one client, as a freshly loaded policy's own."""
        ...

    def infer_batch(self, observations: Sequence[Observation],
                    streams: Sequence[StreamT]) -> list[ActionChunk]:
        """One chunk per observation; row i samples from ``streams[i]``.

        Raises:
            InputError: an observation does not fit the spec; no stream advanced.
            PolicyOutputError: the model produced no valid chunk; no stream advanced.
        """
        ...


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How requests are grouped.

    Attributes:
        window_ms: longest wait after a batch's first request for others to join, ms (>= 0).
        max_batch: most requests in one forward pass (>= 1; 1 runs each request alone).
    """

    window_ms: float = 0.0
    max_batch: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.window_ms <= 1000.0:
            raise ConfigError(f'serve: batch window {self.window_ms!r} ms, expected 0 to 1000')
        if isinstance(self.max_batch, bool) or not 1 <= self.max_batch <= 256:
            raise ConfigError(f'serve: max batch {self.max_batch!r}, expected 1 to 256')


@dataclass(frozen=True, slots=True)
class Served:
    """One request's answer: its chunk and the forward pass it was part of."""

    chunk: ActionChunk
    infer_ms: float  #: the whole batch's inference time, ms
    batch_size: int
    replica: str | None = None  #: which Ray Serve replica computed it (``ray_serve``); None: local


class ClientSlot:
    """One connection's place at the batcher: its noise stream (None: the policy's own)."""

    def __init__(self, stream: object | None) -> None:
        self.stream = stream


@dataclass(slots=True)
class _Request:
    slot: ClientSlot
    observation: Observation
    done: threading.Event = field(default_factory=threading.Event)
    served: Served | None = None
    error: BaseException | None = None


class Batcher:
    """Runs ``policy`` on a worker thread for the requests of every connection.

    Args:
        policy: the policy; batched when it implements ``BatchPolicy``.
        options: window and batch size.
        on_served: called on the worker thread with each request and its chunk, in order
            (the server records there).
    """

    def __init__(self, policy: Policy, options: BatchOptions,
                 on_served: Callable[[Observation, ActionChunk], None]) -> None:
        self._policy = policy
        self._batched: BatchPolicy[Any] | None = (
            policy if isinstance(policy, BatchPolicy) else None)
        self._options = options
        self._on_served = on_served
        self._queue: deque[_Request] = deque()
        self._changed = threading.Condition()
        self._clients = 0
        self._closed = False
        self._worker = threading.Thread(target=self._work, name='policy_batcher', daemon=True)
        self._worker.start()

    def open_client(self) -> ClientSlot:
        """Register a connection; its requests then count towards 'every client waiting'."""
        stream = self._batched.new_noise_stream() if self._batched is not None else None
        with self._changed:
            self._clients += 1
        return ClientSlot(stream)

    def close_client(self, _slot: ClientSlot) -> None:
        """Unregister a connection; a batch waiting for it runs now."""
        with self._changed:
            self._clients -= 1
            self._changed.notify_all()

    def submit(self, slot: ClientSlot, observation: Observation) -> Served:
        """Queue one request and wait for its chunk.

        Raises:
            VlaRosError: the policy's error for this request, or the batcher closing.
            Exception: an unexpected error from the policy, re-raised here.
        """
        request = _Request(slot, observation)
        with self._changed:
            if self._closed:
                raise VlaRosError('the policy server is shutting down')
            self._queue.append(request)
            self._changed.notify_all()
        while not request.done.wait(_POLL_S):
            if self._closed and not self._worker.is_alive():
                raise VlaRosError('the policy server is shutting down')
        if request.error is not None:
            raise request.error
        assert request.served is not None
        return request.served

    def close(self) -> None:
        """Stop the worker after the batch it runs; queued requests fail."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._worker.join(timeout=60.0)

    def _work(self) -> None:
        while (batch := self._collect()) is not None:
            self._run(batch)
        with self._changed:
            left, self._queue = list(self._queue), deque()
        for request in left:
            request.error = VlaRosError('the policy server is shutting down')
            request.done.set()

    def _collect(self) -> list[_Request] | None:
        """The next batch, or None once closed."""
        with self._changed:
            while not self._queue:
                if self._closed:
                    return None
                self._changed.wait(_POLL_S)
            deadline = time.monotonic() + self._options.window_ms / 1e3
            while not self._closed and len(self._queue) < min(self._options.max_batch,
                                                               self._clients):
                left_s = deadline - time.monotonic()
                if left_s <= 0.0:
                    break
                self._changed.wait(left_s)
            size = min(self._options.max_batch, len(self._queue))
            return [self._queue.popleft() for _ in range(size)]

    def _run(self, batch: list[_Request]) -> None:
        """Answer every request of ``batch``; a batch that fails is retried one by one."""
        if self._batched is None or len(batch) == 1:
            for request in batch:
                self._answer([request])
            return
        try:
            self._answer(batch)
        except VlaRosError:  # one bad request: find it, serve the others (no stream advanced)
            for request in batch:
                self._answer([request])

    def _answer(self, batch: list[_Request]) -> None:
        """Run ``batch`` as one call; errors go to its requests, a batch's ``VlaRosError`` up."""
        try:
            started = time.perf_counter()
            if self._batched is not None:
                chunks = self._batched.infer_batch([request.observation for request in batch],
                                                   [request.slot.stream for request in batch])
            else:
                chunks = [self._policy.infer(batch[0].observation)]
            infer_ms = 1e3 * (time.perf_counter() - started)
            for request, chunk in zip(batch, chunks, strict=True):
                self._on_served(request.observation, chunk)
                request.served = Served(chunk, infer_ms, len(batch))
        except VlaRosError as err:
            if len(batch) > 1:
                raise
            self._fail(batch, err)
        except Exception as err:  # a bug: every request of the batch re-raises it (and logs)
            self._fail(batch, err)
        for request in batch:
            request.done.set()

    @staticmethod
    def _fail(batch: list[_Request], err: BaseException) -> None:
        for request in batch:
            request.error = err
