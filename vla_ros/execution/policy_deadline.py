# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""When the chunk in flight is due, and how long a failing policy may keep a robot waiting.

A chunk is due before the running plan runs out: an inference that began while a plan ran and
has not returned when the plan ends (a hung or slow policy server) has missed its deadline, and
the runner holds. Since the arm then stands still, a remote policy's ``server.patience_s``
bounds how long a running instruction keeps waiting for chunks: past it the instruction is
given up (a goal is aborted with the reason). Times are on the runner's clock (the
controllers'), seconds. Not thread-safe: the runner calls it under its lock. ROS-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from vla_ros.core.remote_config import RemoteServerConfig

__all__ = ['PolicyDeadline']


@dataclass(frozen=True, slots=True)
class _InFlight:
    generation: int  # the runner's generation the inference belongs to
    due_s: float  # when the plan runs out
    began_s: float  # when the inference began


class PolicyDeadline:
    """The deadline of the inference in flight, and since when no chunk came.

    Args:
        server: a remote policy's server (its URL names it in messages, its ``patience_s``
            bounds the wait); None for a local policy, which is never given up.
    """

    def __init__(self, server: RemoteServerConfig | None) -> None:
        self._server = server
        self._in_flight: _InFlight | None = None
        self._failing_since_s: float | None = None

    def reset(self) -> None:
        """A new instruction: forget the inference in flight and any earlier failures."""
        self._in_flight = None
        self._failing_since_s = None

    def began(self, *, generation: int, now_s: float, plan_end_s: float | None) -> None:
        """An inference begins at ``now_s``; the plan (if any) runs out at ``plan_end_s``.

        Only an inference that begins while a plan runs has a deadline: without one the arm
        already rests (synchronous execution waits for every chunk at rest).
        """
        self._in_flight = None if plan_end_s is None or plan_end_s <= now_s else _InFlight(
            generation, plan_end_s, now_s)

    def ended(self, *, chunk: bool, now_s: float) -> None:
        """The inference returned: a chunk (``chunk``), or a failure at ``now_s``."""
        self._in_flight = None
        if chunk:
            self._failing_since_s = None
        elif self._failing_since_s is None:
            self._failing_since_s = now_s

    def missed(self, *, generation: int, now_s: float) -> str:
        """Why the arm must hold now (the plan ran out before the chunk came), or ''.

        Reported once per inference; the wait for chunks counts from the plan's end.
        """
        in_flight = self._in_flight
        if in_flight is None or in_flight.generation != generation or now_s < in_flight.due_s:
            return ''
        self._in_flight = None
        if self._failing_since_s is None:
            self._failing_since_s = in_flight.due_s
        return (f'no chunk from {self._where()} when the plan ran out '
                f'({now_s - in_flight.began_s:.2f} s after its inference began); holding '
                'until one comes')

    def impatient(self, *, now_s: float, last_error: str) -> str:
        """Why a running instruction is given up now, or ''.

        It is when the remote policy gave no chunk for longer than ``server.patience_s``.
        """
        server, since_s = self._server, self._failing_since_s
        if server is None or since_s is None or now_s - since_s <= server.patience_s:
            return ''
        self._failing_since_s = None
        return (f'gave up: no chunk from policy server {server.url} for {now_s - since_s:.1f} s '
                f'(policy.server.patience_s {server.patience_s:g}); last error: {last_error}')

    def _where(self) -> str:
        return 'the policy' if self._server is None else f'policy server {self._server.url}'
