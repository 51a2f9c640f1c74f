# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""End to end through DDS: camera messages published -> trajectory published (issue 16 item 3).

The policy node runs in its own process, as on a robot: the installed ``vla_policy_node``
executable with ``config/tabletop_arm.yaml`` (the shipped flow policy ``checkpoints/flow/reach``,
two 64x64 rgb8 cameras, chunk 10, ``sync`` with horizon 5) on the wall clock. This process
plays the robot: joint states at home at 50 Hz, and, per trial, one fresh frame on each camera
topic followed at once by a ``vla/set_instruction`` call (the same instruction each time). A new
instruction starts a cycle at once (``PolicyRunner``): snapshot of the newest data, inference,
planning, the ``JointTrajectory`` per controller. The node runs with ``execution.horizon`` 10
(the whole 1 s chunk) and each trial starts 50 ms after the previous one's chunk arrived, so
the node's own schedule does not come due; a trial during which the node published a second
chunk all the same (a loaded machine) is dropped and counted. Frames are never stale.

Per trial, on this process's monotonic clock:

- ``camera -> trajectory``: the first camera frame published -> the trajectory received
  (what a robot sees: the age of the image when its chunk arrives);
- ``request -> trajectory``: the ``set_instruction`` request sent -> the first trajectory;
- ``node inference``: the node's own ``last_inference_latency_ms`` (``vla/status``), the
  policy call alone, so the rest is DDS, the service, decode, planning and messages.

    source scripts/env.sh && cd /tmp && python /work/main/bench/bench_e2e_latency.py --trials 100

``--config`` takes another embodiment file (its cameras' sizes and encodings are published).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import IO

from ament_index_python.packages import get_package_prefix
import numpy as np
from rclpy.node import Node
import rclpy.time
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory

from vla_ros.core.config import load_config
from vla_ros.msg import PolicyStatus
from vla_ros.ros.clients import set_instruction
from vla_ros.ros.convert import image_to_msg, joint_state_to_msg
from vla_ros.ros.in_process import InProcessGraph
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS, STATUS_QOS
from vla_ros.srv import SetInstruction

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = REPO_ROOT / 'config' / 'tabletop_arm.yaml'
HOME = (0.0, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04)  # urdf/tabletop_scene.xml's home keyframe
INSTRUCTION = 'touch the red cube'
TRIAL_GAP_S = 0.05
HORIZON = 10
WAIT_S = 60.0


class RobotPlayer:
    """Joint states at 50 Hz, camera frames on demand, and the first trajectory per trial."""

    def __init__(self, probe: Node, config_path: Path) -> None:
        config = load_config(config_path)
        embodiment = config.embodiment
        self._probe = probe
        self._names = embodiment.joints
        self._positions = np.array(HOME[:len(self._names)], dtype=np.float64)
        rng = np.random.default_rng(0)
        self._frames = [(probe.create_publisher(Image, camera.topic, SENSOR_QOS),
                         rng.integers(0, 256, (camera.height, camera.width, 3), dtype=np.uint8))
                        for camera in embodiment.cameras]
        self._joint_pub = probe.create_publisher(JointState, embodiment.joint_state_topic,
                                                 SENSOR_QOS)
        self._arrived = threading.Event()
        self._arrival_s = 0.0
        self._status = threading.Condition()
        self._inference_ms = 0.0
        self._chunks = 0
        # The node publishes one trajectory per controller, in this order: the first one times
        # the trial (a later controller's message of the same cycle never spills into the next).
        first_controller = next(iter(embodiment.controllers))
        probe.create_subscription(JointTrajectory, f'{first_controller}/joint_trajectory',
                                  self._on_trajectory, COMMAND_QOS)
        probe.create_subscription(PolicyStatus, 'vla/status', self._on_status, STATUS_QOS)
        probe.create_timer(0.02, self._publish_joints)

    def _now(self) -> object:
        return self._probe.get_clock().now().to_msg()

    def _publish_joints(self) -> None:
        self._joint_pub.publish(joint_state_to_msg(self._names, self._positions,
                                                   np.zeros_like(self._positions),
                                                   stamp=self._now()))

    def _on_trajectory(self, _msg: JointTrajectory) -> None:
        if not self._arrived.is_set():
            self._arrival_s = time.monotonic()
            self._arrived.set()

    def _on_status(self, msg: PolicyStatus) -> None:
        with self._status:
            self._inference_ms, self._chunks = msg.last_inference_latency_ms, msg.chunks_published
            self._status.notify_all()

    def publish_frames(self) -> float:
        """One fresh frame per camera; returns when the first was published (monotonic s)."""
        stamp = self._now()
        first_s = time.monotonic()
        for publisher, pixels in self._frames:
            pixels[0, 0, 0] = (int(pixels[0, 0, 0]) + 1) % 256  # a new frame, not a resend
            publisher.publish(image_to_msg(pixels, stamp=stamp, frame_id='bench'))
        return first_s

    @property
    def chunks(self) -> int:
        """The node's ``chunks_published`` in its latest status."""
        with self._status:
            return self._chunks

    def trial(self, client: rclpy.client.Client) -> tuple[float, float, float]:
        """(camera -> trajectory, request -> trajectory, node inference), ms."""
        self._arrived.clear()
        with self._status:
            chunks_before = self._chunks
        frames_s = self.publish_frames()
        request_s = time.monotonic()
        future = client.call_async(SetInstruction.Request(instruction=INSTRUCTION))
        if not self._arrived.wait(WAIT_S):
            raise TimeoutError(f'no trajectory within {WAIT_S} s of the instruction')
        deadline_s = time.monotonic() + WAIT_S
        while not future.done() and time.monotonic() < deadline_s:
            time.sleep(0.001)
        response = future.result()
        if response is None or not response.accepted:
            raise RuntimeError(f'instruction refused: {response!r}')
        with self._status:  # the status of this trial's chunk (published with it)
            if not self._status.wait_for(lambda: self._chunks > chunks_before, WAIT_S):
                raise TimeoutError('vla/status did not count the chunk')
            inference_ms = self._inference_ms
        return (1e3 * (self._arrival_s - frames_s), 1e3 * (self._arrival_s - request_s),
                inference_ms)


def _start_node(config_path: Path, domain_id: int, log: IO[str]) -> subprocess.Popen[str]:
    executable = Path(get_package_prefix('vla_ros')) / 'lib' / 'vla_ros' / 'vla_policy_node'
    return subprocess.Popen(
        [sys.executable, str(executable), '--ros-args', '-p', f'config_file:={config_path}',
         '-p', f'execution.horizon:={HORIZON}'],
        stdout=log, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, ROS_DOMAIN_ID=str(domain_id)))


def _stats(values: list[float]) -> dict[str, float]:
    return {'p50': statistics.median(values), 'p95': float(np.percentile(values, 95)),
            'min': min(values), 'max': max(values)}


def run(config_path: Path, trials: int, domain_id: int) -> dict[str, object]:
    """Start the node process, wait until it takes instructions, time ``trials`` trials."""
    log = tempfile.TemporaryFile(mode='w+')
    node_process = _start_node(config_path, domain_id, log)
    try:
        with InProcessGraph(domain_id=domain_id) as graph:
            probe = graph.add(Node, node_name='bench_robot')
            player = RobotPlayer(probe, config_path)
            player.publish_frames()
            # Configure loads and warms the policy up; the service answers once active.
            response = set_instruction(probe, INSTRUCTION, timeout_s=WAIT_S)
            if not response.accepted:
                raise RuntimeError(f'instruction refused: {response.message}')
            client = probe.create_client(SetInstruction, 'vla/set_instruction')
            if not client.wait_for_service(timeout_sec=WAIT_S):
                raise TimeoutError('vla/set_instruction went away')
            samples: list[tuple[float, float, float]] = []
            dropped = 0
            for index in range(trials + 3):  # the first three warm the path up
                sample = player.trial(client)
                chunks_after = player.chunks
                time.sleep(TRIAL_GAP_S)
                if player.chunks != chunks_after:  # the node's schedule came due as well
                    dropped += 1
                elif index >= 3:
                    samples.append(sample)
            probe.destroy_client(client)
    except BaseException:
        log.seek(0)
        print('policy node output:\n' + ''.join(log.readlines()[-20:]), file=sys.stderr)
        raise
    finally:
        node_process.send_signal(signal.SIGINT)
        try:
            node_process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node_process.kill()
        log.close()
    columns = list(zip(*samples, strict=True))
    return {'camera -> trajectory': _stats(list(columns[0])),
            'request -> trajectory': _stats(list(columns[1])),
            'node inference': _stats(list(columns[2])),
            'trials': len(samples), 'dropped': dropped}


def main() -> None:
    """Measure, print and (with --json) write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--trials', type=int, default=100)
    parser.add_argument('--config', type=Path, default=CONFIG)
    parser.add_argument('--domain-id', type=int, default=int(os.environ.get('ROS_DOMAIN_ID',
                                                                            '64')))
    parser.add_argument('--json', type=Path, default=None)
    args = parser.parse_args()
    results = run(args.config.resolve(), args.trials, args.domain_id)
    print(f'{args.config} ({results["trials"]} trials, {results["dropped"]} dropped; policy '
          f'node in its own process; load average {os.getloadavg()[0]:.1f}):')
    print(f'{"":24s} {"p50 ms":>8s} {"p95 ms":>8s} {"min ms":>8s} {"max ms":>8s}')
    for name, row in results.items():
        if not isinstance(row, dict):
            continue
        print(f'{name:24s} {row["p50"]:8.2f} {row["p95"]:8.2f} {row["min"]:8.2f} '
              f'{row["max"]:8.2f}')
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
