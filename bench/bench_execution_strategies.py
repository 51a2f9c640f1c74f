# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""Chunk execution strategies in the simulated closed loop: jumps, jerk, idle time, and a plot.

For each strategy, in one process: the MuJoCo sim node and the policy node (on simulated time,
``use_sim_time``, as ``vla-ros eval`` runs it), the instruction sent with
``vla/set_instruction``, and ``duration`` simulated seconds recorded by ``MotionLog`` (the arm
controller's trajectories and the joint states). Prints the metrics of
``vla_ros.execution.smoothness`` per strategy (and writes them with --json) and draws a PNG:
joint2 as commanded (one colour per trajectory, from its arrival) and as measured, per strategy,
and bars of the metrics.

    source scripts/env.sh && python bench/bench_execution_strategies.py --duration 6 \
        --png docs/execution_strategies.png
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
import json
import os
from pathlib import Path
import time

import numpy as np
from rclpy.node import Node
from rclpy.parameter import Parameter

from vla_ros.core.config import ExecutionStrategy, load_config
from vla_ros.execution.smoothness import JointStateSeries, SmoothnessMetrics, TimedTrajectory
from vla_ros.ros.clients import call_service
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.motion_log import MotionLog
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.sim.scene import ARM_JOINT_NAMES
from vla_ros.srv import SetInstruction

REPO_ROOT = Path(__file__).resolve().parent.parent
Trace = tuple[list[TimedTrajectory], JointStateSeries]


def _wait_sim(sim: SimNode, until_s: float, timeout_s: float) -> float:
    deadline = time.monotonic() + timeout_s
    while True:
        with sim.lock:
            now_s = sim.sim.time_s
        if now_s >= until_s:
            return now_s
        if time.monotonic() > deadline:
            raise TimeoutError(f'sim time {now_s:.2f} s did not reach {until_s:.2f} s')
        time.sleep(0.05)


def run_strategy(config: Path, strategy: ExecutionStrategy, *, duration_s: float,
                 instruction: str) -> tuple[SmoothnessMetrics, Trace]:
    """One closed-loop run; returns its metrics and the arm controller's recording."""
    parameter = Parameter('config_file', value=str(config))
    embodiment = load_config(config).embodiment
    with InProcessGraph(domain_id=int(os.environ.get('ROS_DOMAIN_ID', '0'))) as graph:
        sim = graph.add(SimNode, parameter_overrides=[parameter])
        graph.add(PolicyNode, parameter_overrides=[
            parameter, Parameter('use_sim_time', value=True),
            Parameter('execution.strategy', value=strategy.value)])
        probe = graph.add(Node, node_name='bench_probe')
        log = MotionLog(probe, sim, controllers=embodiment.controllers,
                        joint_state_topic=embodiment.joint_state_topic, joints=ARM_JOINT_NAMES)
        log.begin()
        with sim.lock:
            start_s = sim.sim.time_s
        call_service(probe, SetInstruction, 'vla/set_instruction',
                     SetInstruction.Request(instruction=instruction), timeout_s=60.0)
        end_s = _wait_sim(sim, start_s + duration_s, timeout_s=30.0 * duration_s)
        metrics = log.finish(end_s)
        trajectories, states = log.recording()
    return metrics, (trajectories['arm_controller'], states)


def plot(traces: dict[ExecutionStrategy, Trace],
         metrics: dict[ExecutionStrategy, SmoothnessMetrics], path: Path) -> None:
    """Commanded and measured joint2 per strategy over 3 s, and the metrics as bars."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(traces) + 1, 1, figsize=(9, 2.4 * (len(traces) + 1)))
    joint = ARM_JOINT_NAMES.index('joint2')
    for axis, (strategy, (trajectories, states)) in zip(axes, traces.items()):
        start_s = trajectories[min(2, len(trajectories) - 1)].arrival_s
        for index, timed in enumerate(trajectories):
            times = timed.arrival_s + timed.command.times_from_start_s - start_s
            axis.plot(times, timed.command.positions[:, joint], '.-', lw=1,
                      color=f'C{index % 10}')
            axis.axvline(timed.arrival_s - start_s, color='0.85', lw=0.8, zorder=0)
        axis.plot(states.times_s - start_s, states.positions[:, joint], 'k', lw=1.2,
                  label='measured')
        axis.set_xlim(0.0, 3.0)
        axis.set_ylabel('joint2 [rad]')
        result = metrics[strategy]
        axis.set_title(f'{strategy.value}: max jump {result.max_boundary_jump_rad:.3f} rad, '
                       f'idle {100 * result.idle_fraction:.0f} %', fontsize=10)
        axis.legend(loc='upper right', fontsize=8)
    axes[-2].set_xlabel('time since the third trajectory [s] (grey: arrivals)')
    names = [strategy.value for strategy in metrics]
    bars = axes[-1]
    x = np.arange(len(names))
    bars.bar(x - 0.2, [m.max_boundary_jump_rad for m in metrics.values()], 0.4,
             label='max boundary jump [rad]')
    bars.bar(x + 0.2, [m.idle_fraction for m in metrics.values()], 0.4, label='idle fraction')
    bars.set_xticks(x, names)
    bars.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    """Run every strategy, print the table, write --json and --png."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', type=Path, default=REPO_ROOT / 'config' / 'tabletop_arm.yaml')
    parser.add_argument('--duration', type=float, default=6.0, help='simulated seconds')
    parser.add_argument('--instruction', default='touch the red cube')
    parser.add_argument('--png', type=Path, default=None)
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    metrics, traces = {}, {}
    print('| strategy | max boundary jump rad | max jerk rad/s^3 | idle fraction | boundaries |')
    print('|---|---:|---:|---:|---:|')
    for strategy in ExecutionStrategy:
        metrics[strategy], traces[strategy] = run_strategy(
            args.config, strategy, duration_s=args.duration, instruction=args.instruction)
        result = metrics[strategy]
        print(f'| {strategy.value} | {result.max_boundary_jump_rad:.3f} | '
              f'{result.max_jerk_rad_s3:.0f} | {result.idle_fraction:.3f} | '
              f'{result.boundaries} |', flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(
            {s.value: {**asdict(m), 'idle_fraction': m.idle_fraction}
             for s, m in metrics.items()}, indent=2) + '\n')
    if args.png is not None:
        plot(traces, metrics, args.png)
        print(f'plot: {args.png}')


if __name__ == '__main__':
    main()
