# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Closed-loop evaluation of a policy on the simulated arm, through the whole ROS stack.

``evaluate`` starts, in this process (``sim_graph``, the graph `vla-ros demo` runs too), the
sim node and either the policy node (the checkpoint under test) or, in expert mode, a driver
that runs the scripted expert and publishes its targets as ``JointTrajectory`` messages, as
the policy node would. For each episode it:

1. puts the scene in the episode's state. The sim node starts with ``seed`` = the first
   episode's seed, so episode 0 is its initial scene; each later episode calls ``sim/reset``,
   which re-randomises with the next seed (first seed + index). The answer's ``success``
   flag must be set and this graph's sim must then show the episode's seed (a reset answered
   by another sim node on the domain, or one more by another client, is an error: the
   episode would be scored on another scene). ``sim/reset`` thus keeps its
   increment-the-seed behaviour and needs no new srv. It then waits until the sim has run
   ``SETTLE_S`` since the reset, so the cameras have published the new scene;
2. policy mode: sends the instruction as a ``vla/execute`` goal (ExecuteInstruction) that
   outlasts the episode; expert mode: starts the expert on the episode (``ScriptedExpert``;
   ``BimanualExpert`` and ``BimanualWatch`` for the ALOHA rig's ``BimanualEpisode``s,
   ``hand_reach_expert`` and ``HandReachWatch`` for the humanoid's ``HandReachEpisode``s);
3. polls the task's success predicate on the sim object, under the sim node's ``lock``,
   every ``POLL_PERIOD_S``, until success or ``timeout_s`` of simulated time, through the
   ``SuccessCheck`` the demo uses too, whose watch also says why a failed episode failed
   (``failure_reason``: for ``lift``, cube never grasped, dropped, not high enough, or
   another cube lifted; for ``place`` also cube still held, dropped or placed outside the
   target, or not resting on it);
4. cancels the goal (the policy node then holds) or stops the expert.

Time to success is simulated time from the goal's acceptance (the sim runs in real time).
Inference latencies come from ``vla/status``: one sample per chunk published; in expert mode
they are the expert's compute times. A ``MotionLog`` records each episode's arm trajectories
and joint states for the smoothness metrics (boundary jump, jerk, idle fraction). ``strategy``
and ``horizon`` set the policy node's ``execution.strategy`` and ``execution.horizon``. The
policy node runs on simulated time (``use_sim_time``), the controllers' clock, so that a loaded
machine that slows the sim down does not desynchronise the chunks from the controllers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
import threading
import time
from typing import Any

import numpy as np
from rclpy.action.client import ActionClient
from rclpy.node import Node
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from vla_ros.action import ExecuteInstruction
from vla_ros.core.config import ExecutionStrategy, load_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.execution.chunk_planner import split_by_controller
from vla_ros.execution.smoothness import SmoothnessMetrics
from vla_ros.msg import PolicyStatus
from vla_ros.ros.clients import call_service, ClientTimeoutError, wait_for_future
from vla_ros.ros.convert import trajectory_to_msg
from vla_ros.ros.motion_log import MotionLog
from vla_ros.ros.nodes.sim_node import SimNode
from vla_ros.ros.qos import COMMAND_QOS, STATUS_QOS
from vla_ros.ros.sim_graph import PolicyParameters, sim_graph, SimGraph
from vla_ros.ros.success_check import EvaluatedEpisode, SuccessCheck
from vla_ros.sim.bimanual_expert import BimanualExpert
from vla_ros.sim.bimanual_tasks import BimanualEpisode
from vla_ros.sim.expert import POLICY_DT_S, ScriptedExpert
from vla_ros.sim.humanoid_expert import hand_reach_expert, HandReachExpert
from vla_ros.sim.humanoid_tasks import HandReachEpisode
from vla_ros.sim.tasks import Colour, FailureReason

__all__ = ['EpisodeRecord', 'EvaluatedEpisode', 'EvaluationRun', 'PolicyUnderTest', 'evaluate']

#: Period of the success check, wall-clock seconds.
POLL_PERIOD_S = 0.05
#: Simulated time after a reset before an episode starts (two camera frames at 10 Hz), s.
SETTLE_S = 0.25
#: Deadline of each service and action call, seconds (the policy node may load a model first).
CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class PolicyUnderTest:
    """The checkpoint the policy node loads (its ``policy.*`` parameters)."""

    checkpoint: Path
    family: str | None = None


@dataclass(frozen=True, slots=True)
class EpisodeRecord:
    """How one closed-loop episode went.

    Attributes:
        index: position in the run, from 0.
        episode: the task, cube, instruction and scene seed.
        success: whether the task's predicate held before the timeout.
        time_to_success_s: simulated time from the start to the first success, or None.
        duration_s: simulated time the episode ran, seconds.
        outcome: the goal's result message (policy mode) or 'expert'.
        smoothness: boundary jump, jerk and idle time of the arm over the episode.
        failure_reason: why it failed (None after a success, or when no check ran).
        max_cube_height_m: the named cube's highest centre above its rest height, m.
        closest_m: reaches only: the reaching frame's smallest distance to the named cube's
            top over the episode, m (``SuccessCheck.closest_m``).
        ended_nearest: reaches only: the colour of the cube nearest that frame at the end.
        off_target_m: ``place`` only: how far the named cube's centre lay outside the pad's
            square at the end, m (0 over it; ``vla_ros.sim.tasks.off_target_m``).
    """

    index: int
    episode: EvaluatedEpisode
    success: bool
    time_to_success_s: float | None
    duration_s: float
    outcome: str
    smoothness: SmoothnessMetrics | None = None
    failure_reason: FailureReason | None = None
    max_cube_height_m: float | None = None
    closest_m: float | None = None
    ended_nearest: Colour | None = None
    off_target_m: float | None = None


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """Every episode's record and the inference latencies seen, ms, in arrival order.

    ``callback_errors`` holds the traceback of each node callback that raised during the run
    (the graph kept spinning); a healthy run has none. ``simulated_s`` is the simulated time
    the run advanced (each episode's, settling included) and ``wall_s`` the wall time from the
    sim node's start to the last episode's end; their ratio is the real-time factor.
    """

    records: tuple[EpisodeRecord, ...]
    latencies_ms: tuple[float, ...]
    callback_errors: tuple[str, ...] = ()
    simulated_s: float = 0.0
    wall_s: float = 0.0

    @property
    def real_time_factor(self) -> float | None:
        """Simulated seconds per wall second over the run; None before any time passed."""
        return self.simulated_s / self.wall_s if self.wall_s > 0.0 else None


class _LatencyLog:
    """One latency sample per chunk the policy node reports on ``vla/status``."""

    def __init__(self, node: Node) -> None:
        self._lock = threading.Lock()
        self._chunks = 0
        self.samples_ms: list[float] = []
        node.create_subscription(PolicyStatus, 'vla/status', self._on_status, STATUS_QOS)

    def _on_status(self, msg: PolicyStatus) -> None:
        with self._lock:
            if msg.chunks_published > self._chunks:
                self._chunks = msg.chunks_published
                self.samples_ms.append(float(msg.last_inference_latency_ms))

    def add(self, latency_ms: float) -> None:
        with self._lock:
            self.samples_ms.append(latency_ms)


class _ExpertDriver:
    """Runs the episode's scripted expert on the sim node's scene and publishes its targets."""

    def __init__(self, node: Node, sim_node: SimNode, mjcf_path: Path,
                 controllers: Mapping[str, tuple[str, ...]], latencies: _LatencyLog) -> None:
        self._sim_node = sim_node
        self._mjcf_path = mjcf_path
        self._controllers = dict(controllers)
        self._latencies = latencies
        self._pubs = {name: node.create_publisher(JointTrajectory, f'{name}/joint_trajectory',
                                                  COMMAND_QOS) for name in controllers}
        self._expert: ScriptedExpert | BimanualExpert | HandReachExpert | None = None
        self._next_action_s = 0.0

    def start(self, episode: EvaluatedEpisode, now_s: float) -> None:
        if isinstance(episode, HandReachEpisode):
            self._expert = hand_reach_expert(self._sim_node.sim.config, self._controllers,
                                             episode)
        else:
            self._expert = BimanualExpert(self._sim_node.sim.config, episode) \
                if isinstance(episode, BimanualEpisode) \
                else ScriptedExpert(self._mjcf_path, episode)
        self._next_action_s = now_s

    def act(self, now_s: float) -> JointTrajectoryCommand | None:
        """The expert's next targets when a policy step is due; call under the sim's lock."""
        if self._expert is None or now_s < self._next_action_s:
            return None
        started = time.perf_counter()
        sim = self._sim_node.sim
        action = self._expert.act(sim)
        self._latencies.add(1e3 * (time.perf_counter() - started))
        self._next_action_s += POLICY_DT_S
        return JointTrajectoryCommand(sim.joint_names, np.array([POLICY_DT_S]),
                                      action[np.newaxis, :])

    def publish(self, command: JointTrajectoryCommand) -> None:
        """Send ``command`` to the controllers (one-point trajectories, due in one step)."""
        for controller, part in split_by_controller(command, self._controllers).items():
            self._pubs[controller].publish(trajectory_to_msg(part))

    def stop(self) -> None:
        self._expert = None


class _Harness:
    """Runs the episodes on a started graph (see the module docstring)."""

    def __init__(self, *, graph: SimGraph, client: Node, expert: _ExpertDriver | None,
                 timeout_s: float, motion: MotionLog) -> None:
        self._graph = graph
        self._client = client
        self._sim_node = graph.sim_node
        self._motion = motion
        self._expert = expert
        self._timeout_s = timeout_s
        self._action: ActionClient[Any, Any, Any] | None = None
        if expert is None:
            self._action = ActionClient(client, ExecuteInstruction, 'vla/execute')

    def prepare(self, index: int, episode: EvaluatedEpisode) -> None:
        """Bring the scene to ``episode``'s seed and let it settle.

        Raises:
            ConfigError: the reset failed, or this graph's sim does not show the episode's
                seed after it: an older one (another sim node on the DDS domain answered
                ``sim/reset``) or a newer one (another client reset this sim too).
        """
        if index > 0:
            response = call_service(self._client, Trigger, 'sim/reset', Trigger.Request(),
                                    timeout_s=CALL_TIMEOUT_S)
            if not response.success:
                raise ConfigError(f'sim/reset for seed {episode.seed} failed: '
                                  f'{response.message!r}')
            shown = self._graph.sim_seed()
            if shown < episode.seed:
                raise ConfigError(f'sim/reset for seed {episode.seed} succeeded, but this '
                                  f"evaluation's sim still shows seed {shown}: another sim "
                                  'node on this ROS domain answered')
            if shown > episode.seed:
                raise ConfigError(f'sim/reset should have shown seed {episode.seed}, but the sim '
                                  f'shows seed {shown}: another client reset this sim during '
                                  'the evaluation')
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while self.sim_time_s() < SETTLE_S:
            if time.monotonic() > deadline:
                raise ClientTimeoutError('the sim did not advance after sim/reset')
            time.sleep(POLL_PERIOD_S)

    def sim_time_s(self) -> float:
        """The simulator's clock, seconds since its last reset."""
        return self._graph.sim_time_s()

    def run(self, index: int, episode: EvaluatedEpisode) -> EpisodeRecord:
        """Run ``episode`` until success or the timeout; the arm holds afterwards."""
        self.prepare(index, episode)
        self._motion.begin()
        handle = None
        if self._action is not None:
            handle = self._send_goal(episode)
            if handle is None:
                return EpisodeRecord(index=index, episode=episode, success=False,
                                     time_to_success_s=None, duration_s=0.0,
                                     outcome='goal rejected')
        check = self._watch(episode)
        smoothness = self._motion.finish(check.started_s + check.elapsed_s)
        outcome = 'expert'
        if handle is not None:
            wait_for_future(handle.cancel_goal_async(), CALL_TIMEOUT_S, 'vla/execute cancel')
            result = wait_for_future(handle.get_result_async(), CALL_TIMEOUT_S,
                                     'vla/execute result')
            outcome = str(result.result.message)
        elif self._expert is not None:
            self._expert.stop()
        return EpisodeRecord(index=index, episode=episode,
                             success=check.time_to_success_s is not None,
                             time_to_success_s=check.time_to_success_s,
                             duration_s=check.elapsed_s, outcome=outcome, smoothness=smoothness,
                             failure_reason=check.watch.failure_reason(),
                             max_cube_height_m=check.watch.max_height_m,
                             closest_m=check.closest_m, ended_nearest=check.ended_nearest,
                             off_target_m=check.off_target_m)

    def _send_goal(self, episode: EvaluatedEpisode) -> Any:
        assert self._action is not None
        if not self._action.wait_for_server(timeout_sec=CALL_TIMEOUT_S):
            raise ClientTimeoutError(
                f'action vla/execute not available within {CALL_TIMEOUT_S:.0f} s')
        goal = ExecuteInstruction.Goal(instruction=episode.instruction,
                                       timeout_s=self._timeout_s + CALL_TIMEOUT_S)
        handle = wait_for_future(self._action.send_goal_async(goal), CALL_TIMEOUT_S,
                                 'vla/execute goal')
        return handle if handle.accepted else None

    def _watch(self, episode: EvaluatedEpisode) -> SuccessCheck:
        """Poll the success check until success, ``timeout_s`` of sim time, or a wall deadline."""
        with self._sim_node.lock:
            check = SuccessCheck(self._sim_node.sim, episode)
            if self._expert is not None:
                self._expert.start(episode, check.started_s)
        wall_deadline = time.monotonic() + 2 * self._timeout_s + CALL_TIMEOUT_S
        while True:
            command = None
            with self._sim_node.lock:
                succeeded = check.observe()
                if self._expert is not None and not succeeded:
                    command = self._expert.act(check.started_s + check.elapsed_s)
            if command is not None and self._expert is not None:
                self._expert.publish(command)
            if (succeeded or check.elapsed_s >= self._timeout_s
                    or time.monotonic() > wall_deadline):
                return check
            time.sleep(POLL_PERIOD_S)

    def close(self) -> None:
        if self._action is not None:
            self._action.destroy()


def evaluate(*, config_path: Path, episodes: list[EvaluatedEpisode], timeout_s: float,
             policy: PolicyUnderTest | None,
             on_episode: Callable[[EpisodeRecord], None] | None = None,
             strategy: ExecutionStrategy | None = None, horizon: int | None = None,
             domain_id: int | None = None) -> EvaluationRun:
    """Run ``episodes`` in closed loop; ``policy`` None runs the scripted expert instead.

    ``strategy`` and ``horizon`` override the config's ``execution.strategy`` and
    ``execution.horizon`` (chunk steps per inference) for the policy node.
    ``domain_id`` puts the run's nodes on that DDS domain (None: ``ROS_DOMAIN_ID``).

    The episodes' seeds must be consecutive (``sample_episodes`` makes them so).

    Raises:
        ConfigError: a config without a sim section, non-consecutive seeds, or a failed reset.
        ClientTimeoutError: a node did not answer in time.
    """
    config = load_config(config_path)
    if config.sim is None:
        raise ConfigError(f'{config_path}: no sim section; the evaluation needs sim.mjcf')
    seeds = [episode.seed for episode in episodes]
    if not seeds or seeds != list(range(seeds[0], seeds[0] + len(seeds))):
        raise ConfigError(f'episode seeds {seeds!r}: expected consecutive seeds')
    parameters = None if policy is None else PolicyParameters(
        checkpoint=policy.checkpoint, family=policy.family, strategy=strategy, horizon=horizon)
    records = []
    simulated_s = 0.0  # each episode's sim time at its end: the sim restarts at 0 on reset
    wall_started_s = time.monotonic()
    with sim_graph(config_path, seed=seeds[0], policy=parameters, client_name='vla_eval',
                   domain_id=domain_id) as graph:
        client = graph.client
        assert client is not None  # asked for by name
        latencies = _LatencyLog(client)
        expert = None if policy is not None else _ExpertDriver(
            client, graph.sim_node, config.sim.mjcf, config.embodiment.controllers, latencies)
        # The metrics' joints: revolute ones only (the grippers' fingers slide, in m).
        motion = MotionLog(client, graph.sim_node, controllers=config.embodiment.controllers,
                           joint_state_topic=config.embodiment.joint_state_topic,
                           joints=[j for j in config.embodiment.joints if 'gripper' not in j])
        harness = _Harness(graph=graph, client=client, expert=expert, timeout_s=timeout_s,
                           motion=motion)
        try:
            for index, episode in enumerate(episodes):
                record = harness.run(index, episode)
                simulated_s += harness.sim_time_s()
                records.append(record)
                if on_episode is not None:
                    on_episode(record)
        finally:
            harness.close()
        wall_s = time.monotonic() - wall_started_s
        samples = tuple(latencies.samples_ms)
    return EvaluationRun(records=tuple(records), latencies_ms=samples,
                         callback_errors=tuple(graph.graph.callback_errors),
                         simulated_s=simulated_s, wall_s=wall_s)
