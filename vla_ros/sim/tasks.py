# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Language-conditioned tasks on the tabletop arm: what to ask, and when it is done.

Two tasks, each about one of the three cubes, so the colour named in the instruction decides
which cube counts:

- ``reach``: success while ``ee_site`` (the point between the fingertip pads, 5 mm above the
  fingertips) is within ``REACH_TOLERANCE_M`` (3 cm, Euclidean) of the named cube's reach
  point: half an edge (2 cm) above the cube's centre along world z, which is the centre of
  its top face while the cube rests flat on the table (resets always leave it flat).
- ``lift``: success while the named cube's centre is more than ``LIFT_HEIGHT_M`` (5 cm) above
  its resting height (``CUBE_REST_Z_M``, half its edge above the table top z = 0).

Both predicates read the state at one instant; an evaluation decides how long to watch.
``EpisodeWatch`` watches a whole episode and says why it failed (``FailureReason``): for
``lift`` whether the named cube never left the table (``GRASP_HEIGHT_M``), left it and came
back down, or was still held at the end below the success height, or another cube went up.

An ``Episode`` fixes the task, the cube's colour, the instruction's wording and the scene seed
(``TabletopSim.reset(seed)``). ``make_episode`` draws colour and wording from a generator
seeded by the episode seed on a stream of its own (not the sim's placement stream), so a
colour never correlates with where the cubes lie; ``sample_episodes`` numbers episodes
``seed, seed + 1, ...``. Numpy only: the predicates take any scene with the readers of
``TabletopSim``.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError

__all__ = [
    'CUBE_REST_Z_M', 'Colour', 'Episode', 'EpisodeWatch', 'FailureReason', 'GRASP_HEIGHT_M',
    'LIFT_HEIGHT_M', 'PHRASINGS', 'REACH_TOLERANCE_M', 'SceneReader', 'TaskKind',
    'make_episode', 'reach_point', 'sample_episodes',
]

#: Largest distance from ``ee_site`` to the cube's top-face centre that counts as a reach, m.
REACH_TOLERANCE_M = 0.03
#: Height above its resting height that the cube's centre must exceed to count as lifted, m.
LIFT_HEIGHT_M = 0.05
#: Half the cube's edge: the cube centre's height when the cube rests on the table, m.
CUBE_REST_Z_M = 0.02
#: Height above its resting height above which a cube counts as off the table, m (a cube
#: tipped onto an edge rises 0.8 cm; one held between the fingers rises with them).
GRASP_HEIGHT_M = 0.015
#: Keeps the episode's language stream apart from the sim's placement stream of the same seed.
_LANGUAGE_STREAM = 0x7A5C


class TaskKind(enum.Enum):
    """The tasks the tabletop arm can be asked to do."""

    REACH = 'reach'
    LIFT = 'lift'


class Colour(enum.Enum):
    """The cubes' colours; each names one body of the scene."""

    RED = 'red'
    GREEN = 'green'
    BLUE = 'blue'

    @property
    def cube_name(self) -> str:
        """The cube's body name in ``urdf/tabletop_scene.xml``."""
        return f'{self.value}_cube'


#: Instruction templates per task; ``{colour}`` becomes the cube's colour.
PHRASINGS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.REACH: (
        'touch the {colour} cube',
        'reach the {colour} cube',
        'move your gripper to the {colour} cube',
        'put the fingertips on top of the {colour} block',
        'go to the {colour} block',
    ),
    TaskKind.LIFT: (
        'pick up the {colour} cube',
        'lift the {colour} cube',
        'grasp the {colour} block and raise it',
        'raise the {colour} cube off the table',
        'pick the {colour} block up',
    ),
}


class SceneReader(Protocol):
    """The part of ``TabletopSim`` the success predicates read."""

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre, world frame, m."""
        ...

    def end_effector_position(self) -> NDArray[np.float64]:
        """(3,) position of ``ee_site``, world frame, m."""
        ...


@dataclass(frozen=True, slots=True)
class Episode:
    """One evaluation or demonstration episode.

    Attributes:
        task: what is asked.
        colour: which cube it is about.
        instruction: the words sent to the policy.
        seed: the scene seed, ``TabletopSim.reset(seed)``; also seeds colour and wording.
    """

    task: TaskKind
    colour: Colour
    instruction: str
    seed: int

    @property
    def cube_name(self) -> str:
        """The body name of the cube the episode is about."""
        return self.colour.cube_name

    def is_success(self, scene: SceneReader) -> bool:
        """Whether ``scene`` shows this episode's task done, now (see the module docstring)."""
        if self.task is TaskKind.REACH:
            distance_m = np.linalg.norm(scene.end_effector_position()
                                        - reach_point(scene, self.cube_name))
            return bool(distance_m <= REACH_TOLERANCE_M)
        height_m = scene.object_positions()[self.cube_name][2] - CUBE_REST_Z_M
        return bool(height_m > LIFT_HEIGHT_M)


def make_episode(task: TaskKind, seed: int) -> Episode:
    """The episode of ``task`` with scene seed ``seed``: colour and wording drawn from it.

    Raises:
        ConfigError: a negative seed.
    """
    if seed < 0:
        raise ConfigError(f'episode seed: {seed!r}, expected >= 0')
    rng = np.random.default_rng((seed, _LANGUAGE_STREAM))
    colour = list(Colour)[int(rng.integers(len(Colour)))]
    templates = PHRASINGS[task]
    template = templates[int(rng.integers(len(templates)))]
    return Episode(task=task, colour=colour, instruction=template.format(colour=colour.value),
                   seed=seed)


def sample_episodes(task: TaskKind, count: int, seed: int) -> list[Episode]:
    """``count`` episodes of ``task`` with scene seeds ``seed``, ``seed + 1``, ...

    Raises:
        ConfigError: a negative count or seed.
    """
    if count < 0:
        raise ConfigError(f'episode count: {count!r}, expected >= 0')
    return [make_episode(task, seed + index) for index in range(count)]


def reach_point(scene: SceneReader, cube_name: str) -> NDArray[np.float64]:
    """(3,) point ``reach`` measures to: half an edge above the cube's centre, world, m."""
    point: NDArray[np.float64] = scene.object_positions()[cube_name] + np.array(
        [0.0, 0.0, CUBE_REST_Z_M])
    return point



class FailureReason(enum.Enum):
    """Why an episode failed, as ``EpisodeWatch`` saw it."""

    NOT_REACHED = 'cube not reached'
    NEVER_GRASPED = 'cube never grasped'
    DROPPED = 'cube dropped'
    NOT_HIGH_ENOUGH = 'cube not high enough'
    WRONG_CUBE = 'another cube lifted'
    WRONG_GRIPPER = 'reached with the other gripper'  # bimanual_tasks
    NOT_HANDED_OVER = 'cube not handed over'  # bimanual_tasks


class EpisodeWatch:
    """Watches an episode's scene at each check and says why the episode failed.

    Call ``observe`` at every check (it returns ``episode.is_success``), then
    ``failure_reason`` at the end. For ``lift`` it keeps the named cube's highest and last
    height above rest, and whether any other cube went above ``LIFT_HEIGHT_M``.
    """

    def __init__(self, episode: Episode) -> None:
        self._episode = episode
        self._succeeded = False
        self._other_lifted = False
        #: Highest height of the named cube above rest seen, m (None before any check).
        self.max_height_m: float | None = None
        #: The named cube's height above rest at the last check, m (None before any check).
        self.last_height_m: float | None = None

    def observe(self, scene: SceneReader) -> bool:
        """Record ``scene``'s state; whether the episode's task is done now."""
        positions = scene.object_positions()
        height_m = float(positions[self._episode.cube_name][2]) - CUBE_REST_Z_M
        self.last_height_m = height_m
        self.max_height_m = height_m if self.max_height_m is None \
            else max(self.max_height_m, height_m)
        self._other_lifted |= any(
            float(centre[2]) - CUBE_REST_Z_M > LIFT_HEIGHT_M
            for name, centre in positions.items() if name != self._episode.cube_name)
        succeeded = self._episode.is_success(scene)
        self._succeeded |= succeeded
        return succeeded

    def failure_reason(self) -> FailureReason | None:
        """None after a success; otherwise the reason (``NOT_REACHED`` for ``reach``)."""
        if self._succeeded:
            return None
        if self._episode.task is TaskKind.REACH:
            return FailureReason.NOT_REACHED
        if self._other_lifted:
            return FailureReason.WRONG_CUBE
        if self.max_height_m is None or self.max_height_m < GRASP_HEIGHT_M:
            return FailureReason.NEVER_GRASPED
        assert self.last_height_m is not None  # set with max_height_m
        if self.last_height_m < GRASP_HEIGHT_M:
            return FailureReason.DROPPED
        return FailureReason.NOT_HIGH_ENOUGH
