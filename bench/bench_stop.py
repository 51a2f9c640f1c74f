# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""The stop path: ``vla/stop`` while the simulated arm moves at speed, measured on sim time.

In one process: the MuJoCo sim node and the policy node (on simulated time, ``use_sim_time``)
with a random flow checkpoint whose actions lie 2 rad from home on joint1 (the base), so each
chunk drives joint1 at its 2 rad/s limit. Each trial: send the instruction, wait until the
measured joint1 speed exceeds 1 rad/s, call ``vla/stop``, record 1.5 s of simulated time,
``vla/resume``, reset the simulator (the arm back home). Per trial, from the simulator's joint
states (stamps and velocities):

- ``speed_at_stop``: |joint1 speed| when the stop was answered, rad/s;
- ``max_speed_ratio``: the largest |speed| / URDF limit of any joint after the answer;
- ``travel``: how far joint1 went on after the answer, rad (the braking distance);
- ``overshoot``: how far joint1 then came back from its furthest point, rad (the servo's
  overshoot of the brake's end);
- ``behind``: how far joint1 ended behind where it was at the answer, rad (0 is right: a
  stop must never pull the arm back);
- ``settle_s``: simulated time from the answer until every joint is below 0.02 rad/s for good.

Run without and with ``safety.max_acceleration_rad_s2``:

    source scripts/env.sh && python bench/bench_stop.py --trials 10
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import json
from pathlib import Path
import tempfile
import threading
import time

import numpy as np
from rclpy.node import Node
from rclpy.parameter import Parameter
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger
import yaml

from vla_ros.policies.flow.checkpoint import (
    create_random_checkpoint,
    DEFAULT_HOME_POSITIONS,
    DEFAULT_SPEC,
)
from vla_ros.ros.clients import call_service, set_instruction
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.nodes.policy_node import PolicyNode
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import SENSOR_QOS

REPO_ROOT = Path(__file__).resolve().parent.parent
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
VELOCITY_LIMITS = np.array([2.0, 2.0, 2.5, 3.0, 3.0, 3.0, 0.1])
WAIT_S = 60.0
Row = tuple[float, list[float], list[float]]


class JointTrace:
    """Keeps the simulator's joint states: (sim time, positions, velocities) of JOINTS."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.condition = threading.Condition()

    def __call__(self, msg: JointState) -> None:
        """Subscription callback."""
        if not len(msg.velocity):
            return
        stamp = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        by_name = dict(zip(msg.name, zip(msg.position, msg.velocity)))
        with self.condition:
            self.rows.append((stamp, [by_name[j][0] for j in JOINTS],
                              [by_name[j][1] for j in JOINTS]))
            self.condition.notify_all()

    def wait(self, predicate: Callable[[list[Row]], bool], what: str) -> None:
        """Block until ``predicate(rows)``."""
        with self.condition:
            if not self.condition.wait_for(lambda: predicate(self.rows), WAIT_S):
                raise TimeoutError(what)


def make_config(out_dir: Path, acceleration: float | None) -> Path:
    """The tabletop config with the swinging random policy, on simulated time."""
    target = np.array(DEFAULT_HOME_POSITIONS, dtype=np.float64)
    target[0] += 2.0
    checkpoint = create_random_checkpoint(out_dir / 'flow', DEFAULT_SPEC, seed=0,
                                          home_positions=tuple(target),
                                          motion_std=(0.01,) * 6 + (0.0005,))
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf')
    raw['sim']['mjcf'] = str(REPO_ROOT / 'urdf' / 'tabletop_scene.xml')
    raw['policy'].update(family='flow', checkpoint=str(checkpoint))
    raw['execution']['horizon'] = 3
    if acceleration is not None:
        raw['safety']['max_acceleration_rad_s2'] = acceleration
    path = out_dir / 'swing.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def one_stop(probe: Node, trace: JointTrace) -> dict[str, float]:
    """Start, stop at speed, measure, resume."""
    if not set_instruction(probe, 'swing', timeout_s=WAIT_S).accepted:
        raise RuntimeError('instruction refused')
    trace.wait(lambda rows: bool(rows) and abs(rows[-1][2][0]) > 1.0, 'never reached 1 rad/s')
    reply = call_service(probe, Trigger, 'vla/stop', Trigger.Request(), timeout_s=WAIT_S)
    if not reply.success:
        raise RuntimeError(reply.message)
    with trace.condition:
        start = len(trace.rows) - 1
        stop_s = trace.rows[start][0]
    trace.wait(lambda rows: rows[-1][0] >= stop_s + 1.5, 'sim time did not advance')
    times = np.array([row[0] for row in trace.rows[start:]])
    positions = np.array([row[1] for row in trace.rows[start:]])
    speeds = np.array([row[2] for row in trace.rows[start:]])
    direction = np.sign(speeds[0, 0])
    travel = direction * (positions[:, 0] - positions[0, 0])
    moving = np.nonzero(np.any(np.abs(speeds) >= 0.02, axis=1))[0]
    settle_s = float(times[moving[-1] + 1] - times[0]) if len(moving) and (
        moving[-1] + 1 < len(times)) else 0.0
    call_service(probe, Trigger, 'vla/resume', Trigger.Request(), timeout_s=WAIT_S)
    call_service(probe, Trigger, 'sim/reset', Trigger.Request(), timeout_s=WAIT_S)  # home
    return {'speed_at_stop': float(abs(speeds[0, 0])),
            'max_speed_ratio': float(np.max(np.abs(speeds) / VELOCITY_LIMITS)),
            'travel': float(np.max(travel)), 'overshoot': float(np.max(travel) - travel[-1]),
            'behind': float(max(0.0, -travel[-1])),
            'settle_s': settle_s}


def run(config: Path, trials: int) -> list[dict[str, float]]:
    """``trials`` stops in one graph on simulated time."""
    parameter = Parameter('config_file', value=str(config))
    with InProcessGraph() as graph:
        graph.add(SimNode, parameter_overrides=[parameter])
        graph.add(PolicyNode, parameter_overrides=[
            parameter, Parameter('use_sim_time', value=True)])
        probe = graph.add(Node, node_name='stop_bench')
        trace = JointTrace()
        probe.create_subscription(JointState, 'joint_states', trace, SENSOR_QOS)
        results = []
        for _ in range(trials):
            results.append(one_stop(probe, trace))
            time.sleep(0.2)
        return results


def main() -> None:
    """Run the trials without and with an acceleration limit; print a table (and --json)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--trials', type=int, default=10)
    parser.add_argument('--acceleration', type=float, default=20.0,
                        help='safety.max_acceleration_rad_s2 of the second run')
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, acceleration in (('no acceleration limit', None),
                                    (f'{args.acceleration:g} rad/s^2', args.acceleration)):
            out = Path(tmp) / label.replace(' ', '_').replace('/', '_')
            out.mkdir()
            report[label] = run(make_config(out, acceleration), args.trials)
    print('| brake | speed at stop (rad/s) | max speed / limit | travel (rad) | '
          'overshoot (rad) | behind (rad) | settle (s, sim) |')
    print('|---|---|---|---|---|---|---|')
    for label, results in report.items():
        def stat(key: str, results: list[dict[str, float]] = results) -> str:
            values = np.array([r[key] for r in results])
            return f'{np.median(values):.3f} (max {values.max():.3f})'
        print(f'| {label} | {stat("speed_at_stop")} | {stat("max_speed_ratio")} | '
              f'{stat("travel")} | {stat("overshoot")} | {stat("behind")} | '
              f'{stat("settle_s")} |')
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == '__main__':
    main()
