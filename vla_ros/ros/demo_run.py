# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ROS side of `vla-ros demo`: one instruction on the in-process sim and policy graph.

``run_demo`` starts the graph the evaluation uses (``sim_graph``: the sim node on the scene of
``seed``, the policy node on simulated time), records the joint states and every camera
(``SensorLog``), and sends the instruction as an ExecuteInstruction goal of ``duration_s``
simulated seconds. While the goal runs it asks the evaluation's ``SuccessCheck`` of the episode
the instruction names (``episode_for_instruction``) every ``CANCEL_POLL_S``; with
``stop_when_done`` the first success cancels the goal and the arm holds there (the policies
are trained on reaches that end at the cube, not on what comes after). For ``lift`` and
``place`` it keeps the named cube's height at each check and the cameras' frames when the cube
left the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
import time

from vla_ros.core.config import load_config
from vla_ros.ros.clients import ClientTimeoutError, execute_instruction
from vla_ros.ros.one_shot_calls import GoalFeedback, GoalResult
from vla_ros.ros.sensor_log import SensorLog, SensorRecording
from vla_ros.ros.sim_graph import PolicyParameters, sim_graph, SimGraph
from vla_ros.ros.success_check import (
    cube_distances_m,
    episode_for_instruction,
    EpisodeWatcher,
    EvaluatedEpisode,
    reach_frame,
    SuccessCheck,
)
from vla_ros.sim.tasks import EpisodeWatch, GRASP_HEIGHT_M, TaskKind

__all__ = ['DemoRequest', 'DemoRun', 'SensorTimeoutError', 'run_demo']

#: How long to wait for the simulated robot's first camera image and joint state, seconds.
SENSOR_TIMEOUT_S = 60.0
#: The slowest simulation, as a fraction of real time, the demo waits for. The policy node runs
#: on simulated time, so ``duration_s`` is simulated seconds; a loaded machine stretches them.
SLOWEST_REAL_TIME_FACTOR = 0.1


class SensorTimeoutError(ClientTimeoutError):
    """The simulated robot published no camera image or joint state in time."""


@dataclass(frozen=True, slots=True)
class DemoRequest:
    """What to run.

    Attributes:
        config_path: the embodiment config of both nodes (with a ``sim`` section).
        instruction: the words sent as the goal.
        seed: the scene seed.
        duration_s: the goal's length, simulated seconds.
        task: the task checked: ``REACH`` (the reach the instruction names), or ``LIFT`` or
            ``PLACE`` of the named cube.
        stop_when_done: cancel the goal at the first success (else run the whole duration).
    """

    config_path: Path
    instruction: str
    seed: int
    duration_s: float
    task: TaskKind
    stop_when_done: bool


@dataclass(frozen=True, slots=True)
class DemoRun:
    """What happened.

    Attributes:
        result: the goal's result, or None when the goal was rejected.
        sensors: the joint states and camera frames (``marked_frames``: cube off the table).
        simulated_s: simulated time from the goal to its result, s.
        wall_s: wall time from the goal to its result, s.
        episode: the episode checked, or None when the scene or instruction has none.
        watch: its watch (failure reason, the cube's highest height), or None.
        done_at_s: simulated time from the goal to the first success, or None.
        frame: the frame a reach is measured at, or None.
        distances_m: colour -> distance from ``frame`` to that cube's top at the end, m.
        heights_m: (s after the goal, the named cube's height above rest, m) per check (lift,
            place).
    """

    result: GoalResult | None
    sensors: SensorRecording
    simulated_s: float
    wall_s: float
    episode: EvaluatedEpisode | None
    watch: EpisodeWatcher | None
    done_at_s: float | None
    frame: str | None
    distances_m: dict[str, float]
    heights_m: tuple[tuple[float, float], ...]


def run_demo(request: DemoRequest, *, on_goal: Callable[[], None],
             on_feedback: Callable[[GoalFeedback], None]) -> DemoRun:
    """Run the demo (module docstring); ``on_goal`` is called just before the goal is sent.

    Raises:
        SensorTimeoutError: no camera image or joint state within ``SENSOR_TIMEOUT_S``.
        ClientTimeoutError: the policy node's action did not answer in time.
    """
    embodiment = load_config(request.config_path).embodiment
    with sim_graph(request.config_path, seed=request.seed, policy=PolicyParameters(),
                   client_name='vla_demo') as graph:
        assert graph.client is not None  # asked for by name
        sensors = SensorLog(graph.client, camera_topics={
            camera.name: camera.topic for camera in embodiment.cameras},
            joint_state_topic=embodiment.joint_state_topic, joints=embodiment.joints)
        if not sensors.wait_for_sensors(timeout_s=SENSOR_TIMEOUT_S):
            raise SensorTimeoutError(
                f'no camera image or joint state within {SENSOR_TIMEOUT_S} s')
        on_goal()
        return _run_goal(request, graph, sensors, on_feedback)


def _run_goal(request: DemoRequest, graph: SimGraph, sensors: SensorLog,
              on_feedback: Callable[[GoalFeedback], None]) -> DemoRun:
    """Send the goal, check the episode while it runs, and collect what happened."""
    sim_node, client = graph.sim_node, graph.client
    assert client is not None
    heights_m: list[tuple[float, float]] = []
    with sim_node.lock:
        sim = sim_node.sim
        sent_s, frame = sim.time_s, reach_frame(sim, request.instruction)
        episode = episode_for_instruction(sim, request.instruction, task=request.task,
                                          seed=request.seed)
        check = None if episode is None else SuccessCheck(sim, episode)
    sent_wall_s = time.monotonic()

    def done() -> bool:  # the simulator's view; the policy never sees it
        if check is None:
            return False
        with sim_node.lock:
            succeeded = check.observe()
            watch = check.watch
            height_m = watch.last_height_m if isinstance(watch, EpisodeWatch) else None
        if request.task is not TaskKind.REACH and height_m is not None:
            heights_m.append((check.elapsed_s, height_m))
            if height_m > GRASP_HEIGHT_M:
                sensors.mark_frames()
        return succeeded and request.stop_when_done

    accepted, result = execute_instruction(
        client, request.instruction, duration_s=request.duration_s,
        on_feedback=lambda msg: on_feedback(GoalFeedback.from_msg(msg)), cancel_when=done,
        result_timeout_s=request.duration_s / SLOWEST_REAL_TIME_FACTOR)
    wall_s = time.monotonic() - sent_wall_s
    with sim_node.lock:
        distances_m = cube_distances_m(sim_node.sim, frame) if frame else {}
        simulated_s = sim_node.sim.time_s - sent_s
    return DemoRun(
        result=GoalResult.from_msg(result) if accepted and result is not None else None,
        sensors=sensors.recording(), simulated_s=simulated_s, wall_s=wall_s, episode=episode,
        watch=None if check is None else check.watch,
        done_at_s=None if check is None else check.time_to_success_s, frame=frame,
        distances_m=distances_m, heights_m=tuple(heights_m))
