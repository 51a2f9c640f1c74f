# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Records what the simulated controllers received and how the joints moved, for the metrics.

``MotionLog`` subscribes (on the evaluation's client node) to every controller's
``joint_trajectory`` topic and to the joint states. A trajectory's arrival time is the sim's
clock read under the sim node's lock, the same reading the sim node's own trajectory
callback makes when it starts the trajectory (zero stamp: start on arrival); joint states
carry their sim-time stamps. ``finish`` turns one episode's recording into
``vla_ros.execution.smoothness.SmoothnessMetrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import threading
from typing import TYPE_CHECKING

import numpy as np
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory

from vla_ros.core.errors import InputError
from vla_ros.execution.smoothness import (
    JointStateSeries,
    measure_smoothness,
    SmoothnessMetrics,
    TimedTrajectory,
)
from vla_ros.ros.convert import trajectory_from_msg
from vla_ros.ros.qos import COMMAND_QOS, SENSOR_QOS

if TYPE_CHECKING:
    from rclpy.node import Node

    from vla_ros.ros.nodes.sim_node import SimNode

__all__ = ['MotionLog']


class MotionLog:
    """Per-episode recording of controller trajectories and joint states.

    Args:
        node: the node to subscribe on.
        sim_node: the simulator, whose clock times the arrivals.
        controllers: controller name -> its joints.
        joint_state_topic: the measured joint states.
        joints: the joints the metrics are computed on (revolute).
    """

    def __init__(self, node: Node, sim_node: SimNode, *,
                 controllers: Mapping[str, tuple[str, ...]], joint_state_topic: str,
                 joints: Sequence[str]) -> None:
        self._sim_node = sim_node
        self._joints = tuple(joints)
        self._controllers = [name for name, members in controllers.items()
                             if set(members) & set(self._joints)]
        self._lock = threading.Lock()
        self._recording = False
        self._trajectories: dict[str, list[TimedTrajectory]] = {}
        self._states: list[tuple[float, dict[str, float]]] = []
        for controller in self._controllers:
            node.create_subscription(
                JointTrajectory, f'{controller}/joint_trajectory',
                lambda msg, name=controller: self._on_trajectory(name, msg), COMMAND_QOS)
        node.create_subscription(JointState, joint_state_topic, self._on_joint_state,
                                 SENSOR_QOS)

    def begin(self) -> None:
        """Forget the last episode and record from now on."""
        with self._lock:
            self._trajectories = {name: [] for name in self._controllers}
            self._states = []
            self._recording = True

    def finish(self, end_s: float) -> SmoothnessMetrics:
        """Stop recording; the metrics of the episode that ended at sim time ``end_s``.

        With several controllers, each metric is the largest of theirs.
        """
        with self._lock:
            self._recording = False
        trajectories, series = self.recording()
        per_controller = [
            measure_smoothness(items, series, joints=self._joints, end_s=end_s)
            for items in trajectories.values()]
        if not per_controller:
            return SmoothnessMetrics(0.0, 0.0, 0.0, 0.0, 0)
        return SmoothnessMetrics(
            max_boundary_jump_rad=max(m.max_boundary_jump_rad for m in per_controller),
            max_jerk_rad_s3=max(m.max_jerk_rad_s3 for m in per_controller),
            idle_s=max(m.idle_s for m in per_controller),
            window_s=max(m.window_s for m in per_controller),
            boundaries=sum(m.boundaries for m in per_controller))

    def recording(self) -> tuple[dict[str, list[TimedTrajectory]], JointStateSeries]:
        """What was recorded since ``begin``: trajectories per controller, joint positions."""
        with self._lock:
            trajectories = {name: list(items) for name, items in self._trajectories.items()}
            states = list(self._states)
        series = JointStateSeries(
            self._joints, np.array([stamp for stamp, _ in states], dtype=np.float64),
            np.array([[sample[j] for j in self._joints] for _, sample in states],
                     dtype=np.float64).reshape(len(states), len(self._joints)))
        return trajectories, series

    def _on_trajectory(self, controller: str, msg: JointTrajectory) -> None:
        with self._sim_node.lock:
            arrival_s = self._sim_node.sim.time_s
        try:
            command = trajectory_from_msg(msg)
        except InputError:
            return  # the sim node rejects it too: nothing was executed
        with self._lock:
            if self._recording:
                self._trajectories[controller].append(TimedTrajectory(arrival_s, command))

    def _on_joint_state(self, msg: JointState) -> None:
        stamp_s = msg.header.stamp.sec + 1e-9 * msg.header.stamp.nanosec
        sample = dict(zip(msg.name, msg.position))
        if not set(self._joints) <= set(sample):
            return
        with self._lock:
            if self._recording:
                self._states.append((stamp_s, sample))
