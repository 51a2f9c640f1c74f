# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""Soak: `vla-ros sim` (simulator and policy node) under goals sent back to back, for long.

Starts ``vla-ros sim --config CONFIG`` as a child process on a DDS domain of its own (localhost
only), then sends ``vla/execute`` goals one after the other until ``--duration`` has passed:
each runs ``--goal-s`` simulated seconds, the instruction cycling over the cubes, and every
``--cancel-every``-th goal is cancelled once its first chunk ran. Meanwhile it samples the
child's resident memory (VmRSS). At the end it interrupts the child (Ctrl-C, during a goal)
and reports:

- RSS at the start and the end, at each quarter of the run, and its slope (least squares
  over the samples after ``--warm-up-s``, and over the second half alone), MiB per hour: a
  leak shows as a steady positive slope, warm-up as one that levels off;
- goals sent and their outcomes, chunks executed (the sum over the goals' results, and the
  node's ``chunks_published``), mean inference latency;
- errors: goals that ended otherwise than expected (or were rejected), the node's error
  counter and last error, and the ERROR lines in the child's log;
- the longest wall time between two /clock messages as this process received them: a gap
  over ``safety.stale_after_s`` makes the node hold and abort the goal (the clock watchdog);
- the child's exit code and the wall time it took to exit after Ctrl-C.

    source scripts/env.sh && python bench/bench_soak.py --duration 1800 --json soak.json
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import asdict, dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any

import numpy as np
from rclpy.action.client import ActionClient
from rclpy.node import Node
from rosgraph_msgs.msg import Clock

from vla_ros.action import ExecuteInstruction
from vla_ros.msg import PolicyStatus
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.qos import STATUS_QOS

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTRUCTIONS = ('touch the red cube', 'touch the green cube', 'touch the blue cube')
#: Longest wait for the child to load its policy and serve goals, seconds.
STARTUP_S = 180.0
#: Longest wait for the child to exit after Ctrl-C, seconds.
EXIT_S = 60.0


@dataclass
class SoakReport:
    """What one soak run measured."""

    duration_s: float = 0.0
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0
    rss_slope_mib_per_h: float = 0.0
    rss_second_half_slope_mib_per_h: float = 0.0
    rss_by_quarter_mib: list[float] = field(default_factory=list)
    rss_samples: int = 0
    goals: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    unexpected_outcomes: int = 0
    max_clock_gap_s: float = 0.0
    chunks_in_results: int = 0
    chunks_published: int = 0
    mean_latency_ms: float = 0.0
    status_errors: int = 0
    last_error: str = ''
    log_error_lines: int = 0
    exit_code: int | None = None
    exit_after_ctrl_c_s: float = 0.0
    last_goal_outcome: str = ''


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid``, MiB (VmRSS of /proc)."""
    for line in Path(f'/proc/{pid}/status').read_text().splitlines():
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f'process {pid} reports no VmRSS')


class RssSampler:
    """Samples a process's RSS every ``period_s`` on a thread, with the time of each sample."""

    def __init__(self, pid: int, period_s: float) -> None:
        self._pid, self._period_s = pid, period_s
        self.samples: list[tuple[float, float]] = []  # (monotonic s, MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='rss', daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic(), rss_mib(self._pid)))
            self._stop.wait(self._period_s)

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()

    def slope_mib_per_h(self, after_s: float) -> float:
        """Least-squares slope of the samples taken ``after_s`` past the first, MiB/h."""
        start = self.samples[0][0]
        kept = np.array([(t - start, mib) for t, mib in self.samples if t - start >= after_s])
        if len(kept) < 3:
            return float('nan')
        return float(np.polyfit(kept[:, 0] / 3600.0, kept[:, 1], 1)[0])


class GoalSender:
    """Sends goals to the child's policy node and keeps its newest status."""

    def __init__(self, probe: Node) -> None:
        self._client: ActionClient[Any, Any, Any] = ActionClient(
            probe, ExecuteInstruction, 'vla/execute')
        self._status_lock = threading.Lock()
        self.status: PolicyStatus | None = None
        self._clock_at_s: float | None = None
        self.max_clock_gap_s = 0.0  # longest wall time between two /clock messages
        probe.create_subscription(PolicyStatus, 'vla/status', self._on_status, STATUS_QOS)
        probe.create_subscription(Clock, '/clock', self._on_clock, 10)

    def _on_status(self, msg: PolicyStatus) -> None:
        with self._status_lock:
            self.status = msg

    def _on_clock(self, _msg: Clock) -> None:
        now_s = time.monotonic()
        if self._clock_at_s is not None:
            self.max_clock_gap_s = max(self.max_clock_gap_s, now_s - self._clock_at_s)
        self._clock_at_s = now_s

    def wait_for_server(self) -> None:
        """Wait until the child serves goals."""
        if not self._client.wait_for_server(timeout_sec=STARTUP_S):
            raise TimeoutError(f'vla/execute not served within {STARTUP_S:.0f} s')

    def start(self, instruction: str, goal_s: float) -> tuple[Any, threading.Event]:
        """Send a goal; returns its handle and an event set once a chunk ran."""
        chunk_ran = threading.Event()

        def on_feedback(msg: Any) -> None:
            if msg.feedback.chunks_executed >= 1:
                chunk_ran.set()

        future = self._client.send_goal_async(
            ExecuteInstruction.Goal(instruction=instruction, timeout_s=goal_s),
            feedback_callback=on_feedback)
        return _result(future, 30.0, 'goal response'), chunk_ran


def _result(future: Any, timeout_s: float, what: str) -> Any:
    done = threading.Event()
    future.add_done_callback(lambda _f: done.set())
    if not done.wait(timeout_s):
        raise TimeoutError(f'no {what} within {timeout_s:.0f} s')
    return future.result()


def run_goals(sender: GoalSender, report: SoakReport, *, deadline: float, goal_s: float,
              cancel_every: int) -> Any:
    """Send goals back to back until ``deadline``; returns the last one, still running."""
    outcomes: Counter[str] = Counter()
    while True:
        index = report.goals
        handle, chunk_ran = sender.start(INSTRUCTIONS[index % len(INSTRUCTIONS)], goal_s)
        report.goals += 1
        if not handle.accepted:  # the node said why in vla/status; try again shortly
            outcomes['rejected'] += 1
            report.unexpected_outcomes += 1
            time.sleep(1.0)
            continue
        if time.monotonic() >= deadline:
            chunk_ran.wait(30.0)
            report.outcomes = dict(outcomes)
            return handle
        result_future = handle.get_result_async()
        expected = 'succeeded'
        if cancel_every and index % cancel_every == cancel_every - 1 and chunk_ran.wait(30.0):
            _result(handle.cancel_goal_async(), 30.0, 'cancel response')
            expected = 'canceled'
        result = _result(result_future, 30.0 + 20.0 * goal_s, 'goal result').result
        outcomes[result.message] += 1
        report.chunks_in_results += result.chunks_executed
        report.unexpected_outcomes += result.message != expected


def soak(args: argparse.Namespace) -> SoakReport:
    """Run the child, the goals and the sampler; stop the child with Ctrl-C; report."""
    executable = shutil.which('vla-ros')
    if executable is None:
        raise SystemExit('vla-ros is not on PATH; source scripts/env.sh first')
    report = SoakReport()
    env = dict(os.environ, ROS_DOMAIN_ID=str(args.domain_id),
               ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST')
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / 'node.log', 'w+') as log:
        child = subprocess.Popen([executable, 'sim', '--config', str(args.config)], env=env,
                                 stdout=log, stderr=subprocess.STDOUT,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            with InProcessGraph(domain_id=args.domain_id) as graph:
                sender = GoalSender(graph.add(Node, node_name='soak_client'))
                sender.wait_for_server()
                sampler = RssSampler(child.pid, args.sample_s)
                started = time.monotonic()
                last = run_goals(sender, report, deadline=started + args.duration,
                                 goal_s=args.goal_s, cancel_every=args.cancel_every)
                last_result = last.get_result_async()
                sampler.stop()
                report.duration_s = time.monotonic() - started
                interrupted = time.monotonic()
                child.send_signal(signal.SIGINT)
                report.exit_code = child.wait(timeout=EXIT_S)
                report.exit_after_ctrl_c_s = time.monotonic() - interrupted
                report.last_goal_outcome = _result(last_result, 10.0, 'last result').result.message
                status = sender.status
                report.max_clock_gap_s = sender.max_clock_gap_s
        finally:
            if child.poll() is None:
                child.kill()
        log.seek(0)
        report.log_error_lines = sum('ERROR' in line for line in log)
    samples = [mib for _t, mib in sampler.samples]
    report.rss_start_mib, report.rss_end_mib = samples[0], samples[-1]
    report.rss_samples = len(samples)
    report.rss_slope_mib_per_h = sampler.slope_mib_per_h(args.warm_up_s)
    # A leak grows on; warm-up (caches, allocator arenas) levels off: the second half tells.
    report.rss_second_half_slope_mib_per_h = sampler.slope_mib_per_h(report.duration_s / 2.0)
    report.rss_by_quarter_mib = [samples[min(len(samples) - 1, len(samples) * q // 4)]
                                 for q in range(5)]
    if status is not None:
        report.chunks_published = status.chunks_published
        report.mean_latency_ms = status.mean_inference_latency_ms
        report.status_errors = status.errors
        report.last_error = status.last_error
    return report


def main() -> None:
    """Parse the flags, soak, print the report (and write --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', type=Path, default=REPO_ROOT / 'config' / 'tabletop_arm.yaml')
    parser.add_argument('--duration', type=float, default=1800.0,
                        help='wall seconds of goals (default: 30 minutes)')
    parser.add_argument('--goal-s', type=float, default=5.0,
                        help='timeout_s of each goal, simulated seconds')
    parser.add_argument('--cancel-every', type=int, default=5,
                        help='cancel every n-th goal after its first chunk; 0: never')
    parser.add_argument('--sample-s', type=float, default=5.0, help='RSS sampling period, s')
    parser.add_argument('--warm-up-s', type=float, default=60.0,
                        help='samples before this are left out of the slope, s')
    parser.add_argument('--domain-id', type=int, default=230,
                        help='DDS domain of the child and the client (the tests use 10-229)')
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    report = soak(args)
    print('| metric | value |')
    print('|---|---|')
    for name, value in asdict(report).items():
        shown = f'{value:.2f}' if isinstance(value, float) else value
        print(f'| {name} | {shown} |')
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=2) + '\n')


if __name__ == '__main__':
    main()
