# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros demo`: the main job, end to end.

Brings up the simulated arm and the policy node in this process (real rclpy over DDS), sends
an instruction as an action goal, records the joint states and every camera while it runs,
then prints what happened and writes a PNG (each camera at the start and the end, and the
joint trajectories, one plot per controller). Any embodiment with a sim section runs
(``--config config/aloha.yaml``, ``config/g1.yaml``).
When the instruction names a cube and the fingertip reaches it (the simulator's check, as in
`vla-ros eval`; only for scenes with the tabletop's cubes and an ``end_effector`` frame, or a
``left_hand`` / ``right_hand`` frame that the instruction names, "... with your right hand", or
a ``left_end_effector`` / ``right_end_effector`` one, "... with the left gripper"), the
demo cancels the goal and the arm holds there: the policies are trained on reaches that end
at the cube, not on what to do afterwards (``--keep-going`` runs on).
The policy node runs on the simulator's clock (``use_sim_time``), as `vla-ros eval` does, so a
loaded machine that slows the simulator down slows the policy's chunks and the goal with it
instead of cutting chunks short.

``--task lift`` runs the lift policy (``config/tabletop_arm_lift.yaml`` unless ``--config``;
default instruction "pick up the red cube"), cancels the goal once the named cube is lifted
(`vla-ros eval`'s check: its centre 5 cm above its rest), prints the cube's height over time
and plots each camera at the start, when the cube left the table, and at the end.
"""

from __future__ import annotations

import argparse
import functools
from pathlib import Path
import threading
import time
from typing import TYPE_CHECKING

import numpy as np

from vla_ros.cli.config_path import add_config_argument, default_config_path
from vla_ros.sim.tasks import (
    Colour,
    Episode,
    EpisodeWatch,
    GRASP_HEIGHT_M,
    LIFT_HEIGHT_M,
    reach_point,
    REACH_TOLERANCE_M,
    TaskKind,
)

if TYPE_CHECKING:
    from rclpy.node import Node
    from sensor_msgs.msg import Image, JointState

    from vla_ros.action import ExecuteInstruction
    from vla_ros.sim.mujoco_sim import MujocoSim

__all__ = ['add_arguments', 'run']

#: How long to wait for the simulated robot's first camera image and joint state, seconds.
SENSOR_TIMEOUT_S = 60.0
#: The slowest simulation, as a fraction of real time, the demo waits for. The policy node runs
#: on simulated time, so ``--duration`` is simulated seconds; a loaded machine stretches them.
SLOWEST_REAL_TIME_FACTOR = 0.1
#: Per task: the default instruction; ``--task lift`` also defaults to ``LIFT_CONFIG``.
TASK_INSTRUCTIONS = {'reach': 'touch the red cube', 'lift': 'pick up the red cube'}
LIFT_CONFIG = 'tabletop_arm_lift.yaml'
#: Simulated time between the printed cube heights of ``--task lift``, seconds.
HEIGHT_REPORT_PERIOD_S = 0.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the verb's options."""
    add_config_argument(parser)
    parser.add_argument('--task', choices=tuple(TASK_INSTRUCTIONS), default='reach',
                        help='reach: stop at the named cube; lift: run the lift policy '
                        f'(config/{LIFT_CONFIG} unless --config), stop once the cube is '
                        'lifted, print its height over time')
    parser.add_argument('--instruction', default=None,
                        help='default: "touch the red cube" (reach), "pick up the red cube" '
                        '(lift)')
    parser.add_argument('--duration', type=float, default=8.0,
                        help='simulated seconds of execution')
    parser.add_argument('--seed', type=int, default=0, help='object placement seed')
    parser.add_argument('--out', type=Path, default=Path('out/demo.png'), help='PNG to write')
    parser.add_argument('--keep-going', dest='stop_when_reached', action='store_false',
                        help='run the whole duration even after the named cube is reached '
                        '(by default the demo cancels the goal then, as the evaluation does)')


class _Recorder:
    """Collects joint states, camera frames and status messages from a spinning node."""

    def __init__(self, node: Node, camera_topics: dict[str, str], joint_state_topic: str,
                 joints: tuple[str, ...]) -> None:
        from sensor_msgs.msg import Image, JointState

        from vla_ros.ros.qos import SENSOR_QOS

        self.lock = threading.Lock()
        self.times_s: list[float] = []
        self.positions: list[list[float]] = []
        self.names: list[str] = []
        self._joints = set(joints)  # a joint state of this robot names at least these
        self.foreign = 0  # joint states or frames unlike the first ones, ignored
        self.frames: dict[str, list[np.ndarray]] = {camera: [] for camera in camera_topics}
        self.grasp_frames: dict[str, np.ndarray] = {}  # --task lift: as the cube left the table
        self._node = node
        node.create_subscription(JointState, joint_state_topic, self._on_joints, SENSOR_QOS)
        for camera, topic in camera_topics.items():
            node.create_subscription(Image, topic, functools.partial(self._on_image, camera),
                                     SENSOR_QOS)

    def wait_for_sensors(self, timeout_s: float) -> bool:
        """Wait until a joint state and a camera frame have arrived; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.lock:
                if self.positions and all(self.frames.values()):
                    return True
            time.sleep(0.05)
        return False

    def _on_joints(self, msg: JointState) -> None:
        with self.lock:
            if not self.names and self._joints <= set(msg.name):
                self.names = list(msg.name)
            if list(msg.name) != self.names or len(msg.position) != len(self.names):
                self.foreign += 1  # another robot on this DDS domain, or a malformed message
                return
            self.times_s.append(time.monotonic())
            self.positions.append(list(msg.position))

    def _on_image(self, camera: str, msg: Image) -> None:
        from vla_ros.core.errors import InputError
        from vla_ros.ros.convert import image_from_msg

        try:
            frame = image_from_msg(msg, where=f'demo camera {camera}')
        except InputError:
            with self.lock:
                self.foreign += 1
            return
        with self.lock:
            frames = self.frames[camera]
            if frames and frames[0].shape != frame.shape:
                self.foreign += 1
                return
            frames.append(frame)
            del frames[1:-1]  # keep the first and the newest

    def keep_grasp_frames(self) -> None:
        """Keep each camera's newest frame as the moment the cube left the table."""
        with self.lock:
            self.grasp_frames = {camera: frames[-1] for camera, frames in self.frames.items()}


def _plot(recorder: _Recorder, path: Path, instruction: str,
          controllers: dict[str, tuple[str, ...]]) -> None:
    """Each camera at the start and the end (top row), each controller's joints (below)."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    times = np.array(recorder.times_s) - recorder.times_s[0]
    positions = np.array(recorder.positions)
    shots = ('start', 'cube off the table', 'end') if recorder.grasp_frames else ('start', 'end')
    columns = max(len(shots) * len(recorder.frames), 2)
    plot_rows = -(-len(controllers) // 2)  # two controllers per row
    figure = plt.figure(figsize=(max(15.0, 2.6 * columns), 3.2 + 3.4 * plot_rows))
    grid = figure.add_gridspec(1 + plot_rows, columns,
                               height_ratios=[1.0] + [1.1] * plot_rows)
    for index, (camera, frames) in enumerate(recorder.frames.items()):
        pictures = (frames[0], recorder.grasp_frames[camera], frames[-1]) \
            if recorder.grasp_frames else (frames[0], frames[-1])
        for offset, (frame, when) in enumerate(zip(pictures, shots)):
            axis = figure.add_subplot(grid[0, len(shots) * index + offset])
            axis.imshow(frame)
            axis.set_title(f'{camera}, {when}', fontsize='small')
            axis.axis('off')
    half = grid.ncols // 2
    column_of = {name: i for i, name in enumerate(recorder.names)}
    for index, (controller, joints) in enumerate(controllers.items()):
        row, left = 1 + index // 2, (index % 2) * half
        axis = figure.add_subplot(grid[row, left:left + half])
        for joint in joints:
            if joint in column_of:
                axis.plot(times, positions[:, column_of[joint]], label=joint)
        axis.set_title(controller, fontsize='small')
        axis.set_xlabel('time [s]')
        axis.set_ylabel('position [rad | m]')
        axis.legend(loc='upper right', fontsize='x-small', ncol=2)
    figure.suptitle(f'joint states while executing "{instruction}"')
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _named_colour(instruction: str) -> Colour | None:
    """The cube colour the instruction names, if it names exactly one."""
    named = [colour for colour in Colour if colour.value in instruction.lower().split()]
    return named[0] if len(named) == 1 else None


def _reach_frame(scene: MujocoSim, instruction: str) -> str | None:
    """The frame the reach check measures: the hand the instruction names, else the end effector.

    None without such a frame or without the three cubes.
    """
    if not all(colour.cube_name in scene.object_names for colour in Colour):
        return None
    words = instruction.lower().split()
    hands = [f'{side}_hand' for side in ('left', 'right')
             if f'{side}_hand' in scene.frame_names and side in words and 'hand' in words]
    hands += [f'{side}_end_effector' for side in ('left', 'right')  # the ALOHA rig's grippers
              if f'{side}_end_effector' in scene.frame_names and side in words]
    if len(hands) == 1:
        return hands[0]
    return 'end_effector' if 'end_effector' in scene.frame_names else None


def _fingertip_distances(scene: MujocoSim, frame: str) -> dict[str, float]:
    """Colour -> distance from ``frame`` to the reach point of that cube, m."""
    fingertip = scene.frame_position(frame)
    return {colour.value: float(np.linalg.norm(
        fingertip - reach_point(scene, colour.cube_name))) for colour in Colour}


class _LiftLog:
    """The named cube's height over a lift demo, by `vla-ros eval`'s watch of the episode."""

    def __init__(self, episode: Episode, recorder: _Recorder) -> None:
        self.colour = episode.colour
        self._watch = EpisodeWatch(episode)
        self._recorder = recorder
        self.heights: list[tuple[float, float]] = []  # (s after the goal, above rest m)

    def observe(self, scene: MujocoSim, elapsed_s: float) -> bool:
        """Record the cube's height; whether it is lifted. Keeps the frames of the grasp."""
        lifted = self._watch.observe(scene)
        height_m = self._watch.last_height_m
        assert height_m is not None  # observe sets it
        self.heights.append((elapsed_s, height_m))
        if height_m > GRASP_HEIGHT_M and not self._recorder.grasp_frames:
            self._recorder.keep_grasp_frames()
        return lifted

    def print_heights(self) -> None:
        """The height every ``HEIGHT_REPORT_PERIOD_S``, the highest and why a lift failed."""
        shown, next_s = [], 0.0
        for elapsed_s, height_m in self.heights:
            if elapsed_s >= next_s:
                shown.append(f'{elapsed_s:.1f} s {100 * height_m:.1f}')
                next_s = elapsed_s + HEIGHT_REPORT_PERIOD_S
        print(f'  {self.colour.value} cube height above its rest [cm]: ' + ', '.join(shown))
        reason = self._watch.failure_reason()
        print(f'  highest {100 * (self._watch.max_height_m or 0.0):.1f} cm (lifted: more than '
              f'{100 * LIFT_HEIGHT_M:.0f} cm){"" if reason is None else f"; {reason.value}"}')


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 when the goal ran (to its end or to the reach) and the arm moved."""
    from rclpy.node import Node
    from rclpy.parameter import Parameter

    from vla_ros.core.config import load_config
    from vla_ros.ros.clients import execute_instruction
    from vla_ros.ros.in_process import InProcessGraph
    from vla_ros.ros.nodes.policy_node import PolicyNode
    from vla_ros.ros.nodes.sim_node import SimNode

    lifting = args.task == 'lift'
    config_path = args.config or (default_config_path().with_name(LIFT_CONFIG) if lifting
                                  else default_config_path())
    if args.instruction is None:
        args.instruction = TASK_INSTRUCTIONS[args.task]
    embodiment = load_config(config_path).embodiment
    latencies_ms: list[float] = []
    with InProcessGraph() as graph:
        print(f'vla-ros demo: starting the simulated arm and the policy ({config_path})')
        config_param = Parameter('config_file', value=str(config_path))
        sim_node = graph.add(SimNode, parameter_overrides=[config_param,
                                                           Parameter('seed', value=args.seed)])
        graph.add(PolicyNode, parameter_overrides=[config_param,
                                                   Parameter('use_sim_time', value=True)])
        client = graph.add(Node, node_name='vla_demo')
        recorder = _Recorder(client, {camera.name: camera.topic for camera in embodiment.cameras},
                             embodiment.joint_state_topic, embodiment.joints)

        def show(feedback: ExecuteInstruction.Feedback) -> None:
            latencies_ms.append(feedback.last_inference_latency_ms)
            print(f'  t={feedback.elapsed_s:4.1f} s  chunks={feedback.chunks_executed:3d}  '
                  f'inference={feedback.last_inference_latency_ms:6.1f} ms', flush=True)

        if not recorder.wait_for_sensors(timeout_s=SENSOR_TIMEOUT_S):
            print(f'vla-ros demo: no camera image or joint state within {SENSOR_TIMEOUT_S} s')
            return 1
        print(f'vla-ros demo: goal "{args.instruction}" '
              f'for {args.duration:.0f} s of simulated time')
        reached_at_s: list[float] = []  # simulated seconds after the goal was sent
        with sim_node.lock:
            sent_s = sim_node.sim.time_s
            frame = _reach_frame(sim_node.sim, args.instruction)
        sent_wall_s = time.monotonic()
        target = _named_colour(args.instruction) if frame else None
        lift = _LiftLog(Episode(task=TaskKind.LIFT, colour=target, instruction=args.instruction,
                                seed=args.seed), recorder) if lifting and target else None

        def reached() -> bool:  # the simulator's view of a reach; the policy never sees it
            with sim_node.lock:
                done = target is not None and frame is not None and _fingertip_distances(
                    sim_node.sim, frame)[target.value] <= REACH_TOLERANCE_M
                if lift is not None:
                    done = lift.observe(sim_node.sim, sim_node.sim.time_s - sent_s)
                if done and not reached_at_s:
                    reached_at_s.append(sim_node.sim.time_s - sent_s)
            return done and args.stop_when_reached

        accepted, result = execute_instruction(client, args.instruction,
                                               duration_s=args.duration, on_feedback=show,
                                               cancel_when=reached, result_timeout_s=(
                                                   args.duration / SLOWEST_REAL_TIME_FACTOR))
        wall_s = time.monotonic() - sent_wall_s
        with sim_node.lock:
            distances_m = _fingertip_distances(sim_node.sim, frame) if frame else {}
            simulated_s = sim_node.sim.time_s - sent_s
    if not accepted or result is None:
        print('vla-ros demo: the goal was rejected')
        return 1
    with recorder.lock:
        positions = np.array(recorder.positions)
    moved = np.abs(positions - positions[0]).max(axis=0) if len(positions) else np.zeros(0)
    _plot(recorder, args.out, args.instruction, {
        **embodiment.controllers,
        **{f'{name} (held)': joints for name, joints in embodiment.held_controllers.items()}})
    print(f'vla-ros demo: result success={result.success} message={result.message!r}')
    print(f'  chunks executed: {result.chunks_executed}')
    print(f'  inference latency: median {np.median(latencies_ms or [0]):.1f} ms')
    print(f'  real-time factor: {simulated_s / wall_s:.2f} ({simulated_s:.1f} s simulated in '
          f'{wall_s:.1f} s wall time, goal to result)')
    print('  largest joint excursion: ' + ', '.join(
        f'{name} {value:.3f}' for name, value in zip(recorder.names, moved)))
    if lift is not None:
        lift.print_heights()
    if reached_at_s:
        print(f'  {"lifted" if lift else "reached"} the {target.value if target else ""} cube '
              f'{reached_at_s[0]:.1f} s '
              'after the goal'
              + (' and stopped there (the goal was cancelled: hold)' if args.stop_when_reached
                 else ''))
    if distances_m:
        where = 'fingertip' if frame == 'end_effector' else str(frame).replace('_', ' ')
        print(f"  {where} to each cube's top at the end: " + ', '.join(
            f'{colour} {100 * distance:.1f} cm'
            f'{" (reached)" if distance <= REACH_TOLERANCE_M else ""}'
            for colour, distance in distances_m.items()))
    print(f'  plot: {args.out.resolve()}')
    ran = result.success or bool(reached_at_s and args.stop_when_reached)
    return 0 if ran and moved.max(initial=0.0) > 1e-3 else 1
