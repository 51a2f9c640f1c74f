# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Benchmark stages under time budgets, and synchronised latency loops (bench/ only).

``Stages.run`` runs one stage under its budget, bounded also by what is left of the whole
run's deadline: a SIGALRM timer raises ``StageTimeout`` in the stage's Python code (a long call
inside C or Rust code finishes first, so run the script under ``timeout`` too). A stage
records its status ('ok', 'failed: ...' with the error, or 'skipped: ...' naming the stage it
needs or the deadline), seconds, the process's peak resident memory and its own details; a
failure does not stop the stages that do not need it. Progress goes to stderr. Main-thread
only (signals).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import json
from pathlib import Path
import resource
import signal
import statistics
import sys
import time
import traceback
from typing import Any

import torch

__all__ = ['StageTimeout', 'Stages', 'gpu_mib', 'synchronize', 'timed_ms']


class StageTimeout(BaseException):
    """A stage ran past its budget (a BaseException, so no library swallows it)."""


def _on_alarm(signum: int, frame: object) -> None:
    raise StageTimeout


class Stages:
    """Runs stages under budgets, records each one's status, seconds and details.

    Args:
        budgets_s: stage kind -> its budget, s.
        started_s: ``time.monotonic()`` when the run started; the deadline counts from it.
        deadline_s: every stage ends by then.
        reserve_s: kept free of stages before the deadline.
        progress_path: where the results so far are written after each stage (JSON, with
            ``"partial": true``), so a run killed from outside still leaves them.
    """

    def __init__(self, budgets_s: Mapping[str, float], *, started_s: float, deadline_s: float,
                 reserve_s: float, progress_path: Path | None = None) -> None:
        self.results: dict[str, dict[str, Any]] = {}
        self._budgets_s = budgets_s
        self._started_s = started_s
        self._deadline_s = deadline_s
        self._reserve_s = reserve_s
        self._progress_path = progress_path
        signal.signal(signal.SIGALRM, _on_alarm)

    def ok(self, name: str) -> bool:
        """Whether the stage ``name`` ran and succeeded."""
        return self.results.get(name, {}).get('status') == 'ok'

    def run(self, name: str, kind: str, work: Callable[[], tuple[Any, dict[str, Any]]], *,
            needs: tuple[str, ...] = ()) -> Any:
        """Run ``work`` (returning a value and details) as stage ``name``; None if it did not.

        Args:
            name: the stage's name in ``results``.
            kind: its key in the budgets.
            work: the stage; its details are recorded with its status and seconds.
            needs: stages that must have succeeded, else this one is skipped naming the first.
        """
        missing = [need for need in needs if not self.ok(need)]
        left_s = self._deadline_s - self._reserve_s - (time.monotonic() - self._started_s)
        budget_s = min(self._budgets_s[kind], left_s)
        if missing or budget_s < 3.0:
            reason = f'needs {missing[0]}' if missing else 'out of time (--deadline-s)'
            return self._record(name, {'status': f'skipped: {reason}'})
        print(f'[{time.monotonic() - self._started_s:6.1f} s] {name} (budget {budget_s:.0f} s)',
              file=sys.stderr, flush=True)
        started = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, budget_s)
        try:
            value, details = work()
        except StageTimeout:
            return self._record(name, {'status': f'failed: out of its {budget_s:.0f} s budget',
                                       'seconds': time.monotonic() - started})
        except Exception as err:  # recorded; the stages that do not need this one still run
            traceback.print_exc(file=sys.stderr)
            return self._record(name, {'status': f'failed: {type(err).__name__}: '
                                                 f'{str(err)[:400]}',
                                       'seconds': time.monotonic() - started})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0.0)
        self._record(name, {'status': 'ok', 'seconds': time.monotonic() - started, **details})
        return value

    def _record(self, name: str, result: dict[str, Any]) -> None:
        result['host_max_rss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.results[name] = result
        print(f'    {name}: {json.dumps(result)}', file=sys.stderr, flush=True)
        if self._progress_path is not None:
            self._progress_path.write_text(json.dumps(
                {'partial': True, 'stages': self.results}, indent=2))


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (nothing to wait for on the CPU)."""
    if device.type == 'cuda':
        torch.cuda.synchronize()


def timed_ms(call: Callable[[], Any], device: torch.device, *, min_runs: int, soft_s: float,
             iterations: int) -> tuple[dict[str, Any], Any]:
    """Latency of ``call``: ``min_runs`` calls, more (up to ``iterations``) within ``soft_s``.

    Each call is timed between two device synchronisations. Returns the statistics (runs,
    p50, p95, min, mean, in ms) and the last call's result.
    """
    samples: list[float] = []
    started = time.monotonic()
    result = None
    while len(samples) < min_runs or (len(samples) < iterations
                                      and time.monotonic() - started < soft_s):
        synchronize(device)
        call_started = time.perf_counter()
        result = call()
        synchronize(device)
        samples.append(1e3 * (time.perf_counter() - call_started))
    ordered = sorted(samples)
    return {'runs': len(ordered), 'p50_ms': statistics.median(ordered),
            'p95_ms': ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
            'min_ms': ordered[0], 'mean_ms': statistics.fmean(ordered)}, result


def gpu_mib(device: torch.device) -> dict[str, float]:
    """GPU memory allocated now and at its peak since the last reset, MiB (empty on the CPU)."""
    if device.type != 'cuda':
        return {}
    return {'gpu_allocated_mib': torch.cuda.memory_allocated() / 2 ** 20,
            'gpu_peak_mib': torch.cuda.max_memory_allocated() / 2 ** 20}
