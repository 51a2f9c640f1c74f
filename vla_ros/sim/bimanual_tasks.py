# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Language-conditioned tasks on the ALOHA bimanual rig: what to ask, and when it is done.

The scene (``config/aloha.yaml``) has red, green and blue 4 cm cubes between the two arms and
two named frames, ``left_end_effector`` and ``right_end_effector`` (the point between each
gripper's fingertips). Every episode names a cube's colour and a side:

- ``side_reach``, "touch the red cube with the left gripper": success while the named side's
  end effector is within ``REACH_TOLERANCE_M`` (3 cm) of the cube's reach point (the centre
  of its top face, as on the tabletop arm). The other gripper does not count.
- ``handover``, "pass the red cube to the left hand": the other arm picks the cube up and
  hands it over. Success while the cube's centre is more than ``HANDOVER_HEIGHT_M`` above its
  resting height, within ``HELD_DISTANCE_M`` of the receiving side's end effector (between
  its fingers: it cannot hang there unless they hold it) and at least ``RELEASED_DISTANCE_M``
  from the giving side's end effector, whose gripper is open (it let go).

Both predicates read the state at one instant; an evaluation decides how long to watch,
through a ``BimanualWatch`` (``tasks.EpisodeWatch``'s counterpart), which also says why a
failed episode failed: ``side_reach`` not reached, or reached with the other gripper only;
``handover`` cube never picked up, dropped, or never handed over.
Colour, side and wording come from the episode seed on a stream of their own, as in
``vla_ros.sim.tasks``. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.sim.tasks import (
    Colour,
    CUBE_REST_Z_M,
    Episode,
    FailureReason,
    GRASP_HEIGHT_M,
    REACH_TOLERANCE_M,
    sample_episodes,
    TaskKind,
)

__all__ = [
    'AnyEpisode', 'BimanualEpisode', 'BimanualScene', 'BimanualTaskKind', 'BimanualWatch',
    'HANDOVER_HEIGHT_M', 'HELD_DISTANCE_M', 'PHRASINGS', 'RELEASED_DISTANCE_M',
    'RELEASED_OPENING_M', 'Side',
    'make_bimanual_episode', 'sample_bimanual_episodes', 'sample_task_episodes',
]

#: Height above its resting height the handed-over cube's centre must exceed, m.
HANDOVER_HEIGHT_M = 0.08
#: Largest distance from the receiving end effector to the cube's centre that counts as held, m.
HELD_DISTANCE_M = 0.035
#: Least distance from the giving end effector to the cube's centre once it let go, m.
RELEASED_DISTANCE_M = 0.05
#: Least opening of the giving gripper (finger from the centre line) that counts as open, m.
RELEASED_OPENING_M = 0.035
_LANGUAGE_STREAM = 0xB1A4


class BimanualTaskKind(enum.Enum):
    """The tasks the bimanual rig can be asked to do (``vla-ros eval --task`` values)."""

    SIDE_REACH = 'side_reach'
    HANDOVER = 'handover'


class Side(enum.Enum):
    """An arm of the rig; its joints and frame are prefixed with the value."""

    LEFT = 'left'
    RIGHT = 'right'

    @property
    def other(self) -> Side:
        """The opposite arm."""
        return Side.RIGHT if self is Side.LEFT else Side.LEFT

    @property
    def frame(self) -> str:
        """The ``sim.frames`` name of this arm's end effector."""
        return f'{self.value}_end_effector'

    @property
    def gripper_joint(self) -> str:
        """This arm's gripper joint (finger opening from the centre line, m)."""
        return f'{self.value}_gripper'


#: Instruction templates per task; ``{colour}`` and ``{side}`` are filled in.
PHRASINGS: dict[BimanualTaskKind, tuple[str, ...]] = {
    BimanualTaskKind.SIDE_REACH: (
        'touch the {colour} cube with the {side} gripper',
        'reach the {colour} cube with your {side} arm',
        'use the {side} gripper to touch the {colour} cube',
        'with the {side} hand, go to the {colour} block',
        'put the {side} fingertips on top of the {colour} cube',
    ),
    BimanualTaskKind.HANDOVER: (
        'pass the {colour} cube to the {side} hand',
        'hand the {colour} cube over to the {side} gripper',
        'give the {colour} block to the {side} arm',
        'transfer the {colour} cube to your {side} hand',
        'pick up the {colour} cube and pass it to the {side} gripper',
    ),
}


class BimanualScene(Protocol):
    """The part of ``MujocoSim`` the predicates read."""

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The columns of ``joint_positions``."""
        ...

    def joint_positions(self) -> NDArray[np.float64]:
        """(J,) measured joints, rad (grippers m)."""
        ...

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre, world frame, m."""
        ...

    def frame_position(self, frame: str) -> NDArray[np.float64]:
        """(3,) position of a named frame, world frame, m."""
        ...


@dataclass(frozen=True, slots=True)
class BimanualEpisode:
    """One evaluation or demonstration episode on the bimanual rig.

    Attributes:
        task: what is asked.
        colour: which cube it is about.
        side: the arm that reaches (``side_reach``) or receives the cube (``handover``).
        instruction: the words sent to the policy.
        seed: the scene seed (``MujocoSim.reset(seed)``); also seeds colour, side and wording.
    """

    task: BimanualTaskKind
    colour: Colour
    side: Side
    instruction: str
    seed: int

    @property
    def cube_name(self) -> str:
        """The body name of the cube the episode is about."""
        return self.colour.cube_name

    def is_success(self, scene: BimanualScene) -> bool:
        """Whether ``scene`` shows this episode's task done, now (see the module docstring)."""
        if self.task is BimanualTaskKind.SIDE_REACH:
            return self.reach_distance_m(scene, self.side) <= REACH_TOLERANCE_M
        cube = scene.object_positions()[self.cube_name]
        held_m = np.linalg.norm(scene.frame_position(self.side.frame) - cube)
        giver_m = np.linalg.norm(scene.frame_position(self.side.other.frame) - cube)
        opening_m = scene.joint_positions()[
            scene.joint_names.index(self.side.other.gripper_joint)]
        return bool(cube[2] - CUBE_REST_Z_M > HANDOVER_HEIGHT_M and held_m <= HELD_DISTANCE_M
                    and giver_m >= RELEASED_DISTANCE_M and opening_m >= RELEASED_OPENING_M)


    def reach_distance_m(self, scene: BimanualScene, side: Side) -> float:
        """Distance from ``side``'s end effector to the cube's top-face centre, m."""
        top = scene.object_positions()[self.cube_name] + np.array([0.0, 0.0, CUBE_REST_Z_M])
        return float(np.linalg.norm(scene.frame_position(side.frame) - top))


#: An episode of either rig's tasks (what ``vla_ros.ros.evaluation`` runs).
AnyEpisode = Episode | BimanualEpisode


class BimanualWatch:
    """Watches a bimanual episode at each check and says why it failed.

    The interface of ``tasks.EpisodeWatch``: ``observe`` at every check (returns
    ``episode.is_success``), ``failure_reason`` at the end, ``max_height_m`` of the cube.
    """

    def __init__(self, episode: BimanualEpisode) -> None:
        self._episode = episode
        self._succeeded = False
        self._other_side_reached = False
        #: Highest height of the named cube above rest seen, m (None before any check).
        self.max_height_m: float | None = None
        self._last_height_m: float | None = None

    def observe(self, scene: BimanualScene) -> bool:
        """Record ``scene``'s state; whether the episode's task is done now."""
        height_m = float(scene.object_positions()[self._episode.cube_name][2]) - CUBE_REST_Z_M
        self._last_height_m = height_m
        self.max_height_m = height_m if self.max_height_m is None \
            else max(self.max_height_m, height_m)
        if self._episode.task is BimanualTaskKind.SIDE_REACH:
            self._other_side_reached |= self._episode.reach_distance_m(
                scene, self._episode.side.other) <= REACH_TOLERANCE_M
        succeeded = self._episode.is_success(scene)
        self._succeeded |= succeeded
        return succeeded

    def failure_reason(self) -> FailureReason | None:
        """None after a success; otherwise why the episode failed."""
        if self._succeeded:
            return None
        if self._episode.task is BimanualTaskKind.SIDE_REACH:
            return FailureReason.WRONG_GRIPPER if self._other_side_reached \
                else FailureReason.NOT_REACHED
        if self.max_height_m is None or self.max_height_m < GRASP_HEIGHT_M:
            return FailureReason.NEVER_GRASPED
        assert self._last_height_m is not None  # set with max_height_m
        if self._last_height_m < GRASP_HEIGHT_M:
            return FailureReason.DROPPED
        return FailureReason.NOT_HANDED_OVER


def make_bimanual_episode(task: BimanualTaskKind, seed: int) -> BimanualEpisode:
    """The episode of ``task`` with scene seed ``seed``: colour, side and wording drawn from it.

    Raises:
        ConfigError: a negative seed.
    """
    if seed < 0:
        raise ConfigError(f'episode seed: {seed!r}, expected >= 0')
    rng = np.random.default_rng((seed, _LANGUAGE_STREAM))
    colour = list(Colour)[int(rng.integers(len(Colour)))]
    side = list(Side)[int(rng.integers(len(Side)))]
    templates = PHRASINGS[task]
    template = templates[int(rng.integers(len(templates)))]
    return BimanualEpisode(task=task, colour=colour, side=side, seed=seed,
                           instruction=template.format(colour=colour.value, side=side.value))


def sample_bimanual_episodes(task: BimanualTaskKind, count: int, seed: int
                             ) -> list[BimanualEpisode]:
    """``count`` episodes of ``task`` with scene seeds ``seed``, ``seed + 1``, ...

    Raises:
        ConfigError: a negative count or seed.
    """
    if count < 0:
        raise ConfigError(f'episode count: {count!r}, expected >= 0')
    return [make_bimanual_episode(task, seed + index) for index in range(count)]


def sample_task_episodes(task: str, count: int, seed: int) -> list[AnyEpisode]:
    """Episodes of the task named ``task`` (a ``TaskKind`` or ``BimanualTaskKind`` value).

    Raises:
        ConfigError: an unknown task name, a negative count or seed.
    """
    bimanual = {kind.value: kind for kind in BimanualTaskKind}
    tabletop = {kind.value: kind for kind in TaskKind}
    if task in bimanual:
        return list(sample_bimanual_episodes(bimanual[task], count, seed))
    if task in tabletop:
        return list(sample_episodes(tabletop[task], count, seed))
    raise ConfigError(f'task {task!r}: expected one of {sorted({*bimanual, *tabletop})}')
