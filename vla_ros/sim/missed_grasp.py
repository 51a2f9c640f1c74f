# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Deliberate missed grasps: the states a grasping policy fails into, for the expert to leave.

A policy trained only on the expert's clean grasps has never seen a closed, empty gripper
above a cube still on the table; in the ROS evaluations of the lift policy that is where it
stays (it closed beside the cube, raised the empty gripper to the lift height and held there
until the timeout). ``run_missed_grasp`` puts the scene into such a state: it drives the arm
with the scripted expert aimed at a point offset from the cube (beside it, or above its top
face), lets it close there and raise the empty gripper for a drawn number of steps. Nothing of
this is recorded; ``record_episode`` then records a fresh expert from that state, which opens
the gripper, approaches the cube again and grasps it: demonstrations of recovering.

The offsets are drawn so that the fingers miss: a beside-miss closes with ``ee_site`` 3.5 to
5 cm from the cube's centre horizontally (the cube's half edge is 2 cm, a finger's half
thickness 1 cm), an above-miss 3.5 to 6 cm above it (the fingertips close over the top face).
A beside-miss whose open finger lands on the cube's top face cannot descend; the miss then
ends after ``MISS_STEP_LIMIT`` steps wherever it is (the cube pushed or tilted, as in a real
missed grasp). Every draw comes from the episode's seed, so the same seed gives the same miss.

A near miss (``MissedGrasp.draw_near``) is the lift policy's other failure: its descent lands
the open fingers 1.5 to 3.5 cm off the cube's centre, where closing does not hold it. The
unrecorded part stops when the descent ends (the gripper still open, at most one step of
closing begun), so the recording shows the expert backing off from a misaligned descent and
coming down again centred.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.sim.expert import ExpertPhase, follow_one_step, POLICY_DT_S, ScriptedExpert
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.tasks import Episode, TaskKind
from vla_ros.sim.trajectory_follower import TrajectoryFollower

__all__ = ['MISS_STEP_LIMIT', 'MissedGrasp', 'NEAR_RANGE_M', 'run_missed_grasp']

#: Steps after which a miss ends wherever it is (a finger stuck on the cube's top face).
MISS_STEP_LIMIT = 45
#: Horizontal distance from the cube's centre of a beside-miss, m.
BESIDE_RANGE_M = (0.035, 0.05)
#: Height above the cube's centre of an above-miss, m.
ABOVE_RANGE_M = (0.035, 0.06)
#: Steps the empty gripper is raised after closing before the recovery starts.
RAISE_STEPS_RANGE = (0, 12)
#: Fraction of misses that close above the cube rather than beside it.
ABOVE_FRACTION = 0.3
#: Horizontal distance from the cube's centre where a near miss's descent ends, m.
NEAR_RANGE_M = (0.015, 0.035)


@dataclass(frozen=True, slots=True)
class MissedGrasp:
    """Where a missed grasp closes, relative to the cube, and how long it raises the gripper.

    Attributes:
        offset: (3,) from the cube's centre to where ``ee_site`` closes, world, m.
        raise_steps: policy steps of raising the closed gripper before the recovery.
        closes: False for a near miss: the miss ends where the descent does, gripper open.
    """

    offset: NDArray[np.float64]
    raise_steps: int
    closes: bool = True

    @classmethod
    def draw(cls, seed: int) -> MissedGrasp:
        """The miss of the episode with scene seed ``seed`` (its own stream of draws)."""
        rng = np.random.default_rng([seed, 0x6d697373])  # 'miss': apart from the scene's draws
        if rng.random() < ABOVE_FRACTION:
            offset = np.array([0.0, 0.0, rng.uniform(*ABOVE_RANGE_M)])
        else:
            angle = rng.uniform(0.0, 2.0 * np.pi)
            offset = rng.uniform(*BESIDE_RANGE_M) * np.array([np.cos(angle), np.sin(angle), 0.0])
        return cls(offset=offset,
                   raise_steps=int(rng.integers(RAISE_STEPS_RANGE[0], RAISE_STEPS_RANGE[1] + 1)))

    @classmethod
    def draw_near(cls, seed: int) -> MissedGrasp:
        """The near miss of the episode with scene seed ``seed`` (its own stream of draws)."""
        rng = np.random.default_rng([seed, 0x6e656172])  # 'near'
        angle = rng.uniform(0.0, 2.0 * np.pi)
        offset = rng.uniform(*NEAR_RANGE_M) * np.array([np.cos(angle), np.sin(angle), 0.0])
        return cls(offset=offset, raise_steps=0, closes=False)


class _MissingExpert(ScriptedExpert):
    """The scripted expert with its approach and descent aimed ``offset`` from the cube."""

    def __init__(self, mjcf_path: Path, episode: Episode, offset: NDArray[np.float64]) -> None:
        super().__init__(mjcf_path, episode)
        self._offset = offset

    def _goal(self, cube_position: NDArray[np.float64], target_position: NDArray[np.float64]
              ) -> NDArray[np.float64]:
        goal = super()._goal(cube_position, target_position)
        if self.phase in (ExpertPhase.APPROACH, ExpertPhase.DESCEND):
            return goal + self._offset
        return goal


def run_missed_grasp(sim: MujocoSim, mjcf_path: Path, episode: Episode, miss: MissedGrasp, *,
                     control_period_s: float = 0.02) -> int:
    """Reset ``sim`` to the episode and drive the arm through ``miss``; nothing is recorded.

    The arm ends with the gripper closed (or closing) ``miss.raise_steps`` steps into raising
    it (a near miss: open, where its descent ended), or after ``MISS_STEP_LIMIT`` steps,
    whichever comes first; the scene is left as the miss left it for the recording expert to
    continue from.

    Returns:
        The steps the miss took.

    Raises:
        ConfigError: a task without a grasp (``reach``).
    """
    if episode.task is TaskKind.REACH:
        raise ConfigError('a missed grasp needs a task that grasps (lift, place), not reach')
    sim.reset(episode.seed)
    expert = _MissingExpert(mjcf_path, episode, miss.offset)
    follower = TrajectoryFollower(sim.joint_names, sim.joint_positions())
    substeps = max(1, round(POLICY_DT_S / control_period_s))
    raised = 0
    for step in range(1, MISS_STEP_LIMIT + 1):
        action = expert.act(sim)
        follow_one_step(sim, follower, action, substeps=substeps)
        if not miss.closes and expert.phase is ExpertPhase.GRASP:
            return step
        raised += int(expert.phase is ExpertPhase.LIFT)
        if raised > miss.raise_steps:
            return step
    return MISS_STEP_LIMIT
