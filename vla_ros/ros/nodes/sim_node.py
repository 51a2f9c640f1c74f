# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The simulated robot: any embodiment's MuJoCo scene behind the ROS interfaces of ros2_control.

The embodiment config names everything robot-specific: the scene file and which of its joints,
actuators, cameras, objects and sites stand for the embodiment's (the ``sim`` section), and the
controllers with their joints and the camera topics and sizes (``embodiment``).

Interfaces (names relative to the node's namespace, except /clock):
    subscriptions: ``<controller>/joint_trajectory`` (trajectory_msgs/JointTrajectory) per
        configured controller, with joint_trajectory_controller semantics (zero stamp = now,
        interpolation between points, a new message replaces the running trajectory, hold at
        the end; joints matched by name, partial or unknown joints rejected; a message with
        no points holds the measured position, the JTC's "hold here").
    publishers: the joint-state topic (sensor_msgs/JointState), each configured camera topic
        (sensor_msgs/Image, rgb8, each at its ``sim.cameras`` rate), ``/clock``
        (rosgraph_msgs/Clock, simulated time).
    services: ``sim/reset`` (std_srvs/Trigger) re-randomises the objects with the next seed.

Physics, rendering and publishing run on one thread (MuJoCo's GL context is per thread),
paced to real time. Executor callbacks only hand trajectories over, under a lock of their own
that the physics thread holds for microseconds: they never wait for a frame to render. (They
did, under the simulation's lock: a trajectory callback blocked its callback group for up to a
frame, rclpy's executor then spun on the ready entities it could not run, holding the GIL, and
`vla-ros sim` with the policy node ran at 0.15x real time instead of 0.9x.)
"""

from __future__ import annotations

import threading
import time
from typing import Any

from builtin_interfaces.msg import Time
import numpy as np
import rclpy
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from vla_ros.core.config import load_config, SimConfig
from vla_ros.core.errors import ConfigError, InputError
from vla_ros.ros.convert import image_to_msg, joint_state_to_msg, trajectory_from_msg
from vla_ros.ros.node_main import run_node
from vla_ros.ros.params import declare_read_only
from vla_ros.ros.qos import COMMAND_QOS
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.trajectory_follower import TrajectoryFollower

__all__ = ['SimNode', 'main']


#: Most simulated time the physics loop makes up after falling behind the wall clock, s: the
#: ticks that render run over their period, and the ticks after them catch up.
CATCH_UP_S = 0.1

class SimNode(Node):
    """Steps a MuJoCo scene in real time and speaks ros2_control's topics."""

    def __init__(self, node_name: str = 'vla_mujoco_sim', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        path = str(declare_read_only(self, 'config_file', '',
                                     'embodiment YAML with a sim section; required'))
        seed = int(str(declare_read_only(self, 'seed', -1,
                                         'object placement seed; -1 takes sim.seed')))
        if not path:
            raise ConfigError('parameter config_file is not set; pass -p config_file:=FILE.yaml')
        self._config = load_config(str(path))
        if self._config.sim is None:
            raise ConfigError(f'{path}: no sim section; the simulator needs sim.mjcf')
        sim_config: SimConfig = self._config.sim
        self._seed = seed if seed >= 0 else sim_config.seed
        self._sim = MujocoSim(sim_config, seed=self._seed)
        self._period_s = 1.0 / sim_config.publish_rate_hz
        self._camera_periods_s = {camera.name: 1.0 / camera.rate_hz
                                  for camera in sim_config.cameras}
        self._lock = threading.Lock()  # the simulation: stepped, rendered, reset, read
        # The followers and the latest (time, positions) snapshot, for the executor's callbacks.
        self._command_lock = threading.Lock()
        # Sim time of each camera's next frame; a reset rewinds them.
        self._next_camera_s = dict.fromkeys(self._camera_periods_s, 0.0)
        positions = dict(zip(self._sim.joint_names, self._sim.joint_positions()))
        self._latest_s, self._latest_positions = self._sim.time_s, positions
        self._followers: dict[str, TrajectoryFollower] = {}
        embodiment = self._config.embodiment  # held controllers (legs) hold; they take commands
        for controller, joints in {**embodiment.controllers,
                                   **embodiment.held_controllers}.items():
            unknown = [joint for joint in joints if joint not in positions]
            if unknown:
                raise ConfigError(f'controller {controller!r}: joints {unknown} not in the scene')
            self._followers[controller] = TrajectoryFollower(
                joints, [positions[joint] for joint in joints])
            self.create_subscription(
                JointTrajectory, f'{controller}/joint_trajectory',
                lambda msg, name=controller: self._on_trajectory(name, msg), COMMAND_QOS)
        self._joint_state_pub = self.create_publisher(
            JointState, self._config.embodiment.joint_state_topic, 10)
        self._clock_pub = self.create_publisher(Clock, '/clock', 10)
        self._camera_pubs = {camera.name: (camera, self.create_publisher(Image, camera.topic, 10))
                             for camera in self._config.embodiment.cameras}
        self._reset_srv = self.create_service(Trigger, 'sim/reset', self._on_reset)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name='mujoco_sim', daemon=True)
        self._thread.start()
        self.get_logger().info(f'simulating {sim_config.mjcf.name} with seed {self._seed}')

    @property
    def sim(self) -> MujocoSim:
        """The simulation; read it only while the node is stopped or under ``lock``."""
        return self._sim

    @property
    def seed(self) -> int:
        """The seed of the scene now simulated (``sim/reset`` adds one)."""
        with self._lock:
            return self._seed

    @property
    def lock(self) -> threading.Lock:
        """Held while the physics thread steps the simulation."""
        return self._lock

    def _on_trajectory(self, controller: str, msg: JointTrajectory) -> None:
        """Hand ``msg`` to the controller's follower, at the time of the last physics step."""
        if not msg.points:  # the JTC's "hold here": stop at the measured position
            with self._command_lock:
                follower = self._followers[controller]
                follower.hold([self._latest_positions[joint] for joint in follower.joint_names])
            return
        try:
            command = trajectory_from_msg(msg)
            with self._command_lock:
                self._followers[controller].accept(command, now_s=self._latest_s)
        except InputError as err:
            self.get_logger().error(f'{controller}: trajectory rejected: {err}')

    def _take_snapshot(self) -> None:
        """Keep the time and joint positions of the step just made; under both locks."""
        self._latest_s = self._sim.time_s
        self._latest_positions = dict(zip(self._sim.joint_names, self._sim.joint_positions()))

    def _on_reset(self, _request: Trigger.Request, response: Trigger.Response
                  ) -> Trigger.Response:
        with self._lock:
            self._seed += 1
            self._sim.reset(self._seed)
            # Sim time restarts at 0: frames resume at once.
            self._next_camera_s = dict.fromkeys(self._camera_periods_s, 0.0)
            with self._command_lock:
                self._take_snapshot()
                for follower in self._followers.values():
                    follower.hold([self._latest_positions[joint]
                                   for joint in follower.joint_names])
        response.success, response.message = True, f'reset with seed {self._seed}'
        return response

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            with self._lock:
                now_s = self._sim.time_s
                targets = dict(zip(self._sim.joint_names, self._sim.position_targets()))
                with self._command_lock:
                    for follower in self._followers.values():
                        targets.update(zip(follower.joint_names, follower.sample(now_s)))
                self._sim.set_position_targets(
                    np.array([targets[joint] for joint in self._sim.joint_names]))
                self._sim.step(self._period_s)
                with self._command_lock:
                    self._take_snapshot()
                self._publish_state()
                self._publish_cameras()
            next_tick += self._period_s
            self._stop.wait(timeout=max(0.0, next_tick - time.monotonic()))
            # A tick that rendered overruns its period; the next ticks catch up, by at most
            # CATCH_UP_S (a machine too slow for real time runs slower, not in bursts).
            next_tick = max(next_tick, time.monotonic() - CATCH_UP_S)

    def _sim_stamp(self) -> Time:
        nanoseconds = int(self._sim.time_s * 1e9)
        return rclpy.time.Time(nanoseconds=nanoseconds).to_msg()

    def _publish_state(self) -> None:
        """Publish /clock and the joint states, in the scene's joint order (see scene_order)."""
        stamp = self._sim_stamp()
        self._clock_pub.publish(Clock(clock=stamp))
        order = list(self._sim.scene_order)
        self._joint_state_pub.publish(joint_state_to_msg(
            tuple(self._sim.joint_names[i] for i in order), self._sim.joint_positions()[order],
            self._sim.joint_velocities()[order], stamp=stamp))

    def _publish_cameras(self) -> None:
        """Render and publish each camera whose next frame is due."""
        stamp = self._sim_stamp()
        for name, (camera, publisher) in self._camera_pubs.items():
            if self._sim.time_s < self._next_camera_s[name]:
                continue
            self._next_camera_s[name] = self._sim.time_s + self._camera_periods_s[name]
            image = self._sim.render(name, camera.width, camera.height)
            publisher.publish(image_to_msg(image, stamp=stamp, frame_id=f'{name}_optical_frame'))

    def destroy_node(self) -> None:
        """Stop the physics thread and free the renderer before the node goes away."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._sim.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    """Entry point of ``ros2 run vla_ros vla_mujoco_sim``."""
    return run_node(SimNode, name='vla_mujoco_sim', args=args)


if __name__ == '__main__':
    raise SystemExit(main())
