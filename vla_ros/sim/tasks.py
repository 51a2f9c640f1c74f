# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Language-conditioned tasks on the tabletop arm: what to ask, and when it is done.

Three tasks, each about one of the three cubes, so the colour named in the instruction decides
which cube counts:

- ``reach``: success while ``ee_site`` (the point between the fingertip pads, 5 mm above the
  fingertips) is within ``REACH_TOLERANCE_M`` (3 cm, Euclidean) of the named cube's reach
  point: half an edge (2 cm) above the cube's centre along world z, which is the centre of
  its top face while the cube rests flat on the table (resets always leave it flat).
- ``lift``: success while the named cube's centre is more than ``LIFT_HEIGHT_M`` (5 cm) above
  its resting height (``CUBE_REST_Z_M``, half its edge above the table top z = 0).
- ``place`` ("put the red cube on the yellow square"; its scene, ``tabletop_place_scene.xml``,
  adds the flat pad ``TARGET_NAME``): success while the named cube rests on the pad (its
  centre inside the pad's ``TARGET_HALF_SIZE_M`` square, in the pad's frame; within
  ``PLACE_HEIGHT_TOLERANCE_M`` of its resting height, so flat; slower than
  ``REST_SPEED_M_S``) and the gripper has let go (``gripper_clear``: ``ee_site`` at least
  ``RELEASE_CLEARANCE_M`` above the cube's top face, so the fingertips are above it, or
  ``RELEASE_DISTANCE_M`` away from it in x-y). A cube pushed onto the pad counts too.

The predicates read the state at one instant; an evaluation decides how long to watch.
``EpisodeWatch`` watches a whole episode and says why it failed (``FailureReason``): for
``lift`` whether the named cube never left the table (``GRASP_HEIGHT_M``), left it and came
back down, or was still held at the end below the success height, or another cube went up;
for ``place`` also whether the gripper still held it at the end, or it lay outside the pad,
dropped (last held above ``DROP_HEIGHT_M``) or placed there, or lay over the pad not resting
flat and still.

An ``Episode`` fixes the task, the cube's colour, the instruction's wording and the scene seed
(``TabletopSim.reset(seed)``). ``make_episode`` draws colour and wording from a generator
seeded by the episode seed on a stream of its own (not the sim's placement stream), so a
colour never correlates with where the cubes lie; ``sample_episodes`` numbers episodes
``seed, seed + 1, ...``. Numpy only: the predicates take any scene with the readers of
``TabletopSim``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import enum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError

__all__ = [
    'CUBE_REST_Z_M', 'Colour', 'DROP_HEIGHT_M', 'Episode', 'EpisodeWatch', 'FailureReason',
    'GRASP_HEIGHT_M', 'HOLD_DISTANCE_M', 'LIFT_HEIGHT_M', 'PHRASINGS',
    'PLACE_HEIGHT_TOLERANCE_M', 'REACH_TOLERANCE_M', 'RELEASE_CLEARANCE_M',
    'RELEASE_DISTANCE_M', 'REST_SPEED_M_S', 'SceneReader', 'TARGET_HALF_SIZE_M', 'TARGET_NAME',
    'TaskKind', 'check_scene_objects', 'gripper_clear', 'make_episode', 'off_target_m',
    'on_target', 'reach_point', 'sample_episodes', 'task_objects',
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
#: The place task's target: a flat square pad on the table (``urdf/tabletop_place_scene.xml``).
TARGET_NAME = 'target_pad'
#: Half the pad's edge, m: a cube whose centre lies within it (pad frame) is on the pad.
TARGET_HALF_SIZE_M = 0.04
#: Largest distance of a placed cube's centre from its resting height, m (a cube resting on an
#: edge stands 8 mm higher).
PLACE_HEIGHT_TOLERANCE_M = 0.004
#: Largest speed of a cube that counts as resting, m/s.
REST_SPEED_M_S = 0.02
#: ``ee_site`` this far above a cube's top face has its fingertips (5 mm below it) clear, m.
RELEASE_CLEARANCE_M = 0.01
#: ``ee_site`` this far from a cube's centre in x-y cannot touch it, fingers open or not, m.
RELEASE_DISTANCE_M = 0.09
#: ``ee_site`` within this of a cube's centre holds it (a grasp puts it level with it), m.
HOLD_DISTANCE_M = 0.025
#: A cube off the pad that was last held with its centre this high above rest was dropped, m.
DROP_HEIGHT_M = 0.03
#: Keeps the episode's language stream apart from the sim's placement stream of the same seed.
_LANGUAGE_STREAM = 0x7A5C


class TaskKind(enum.Enum):
    """The tasks the tabletop arm can be asked to do."""

    REACH = 'reach'
    LIFT = 'lift'
    PLACE = 'place'


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
    TaskKind.PLACE: (
        'put the {colour} cube on the yellow square',
        'place the {colour} cube on the yellow pad',
        'move the {colour} block onto the yellow square',
        'pick up the {colour} cube and set it down on the yellow pad',
        'set the {colour} block on the yellow target',
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

    def object_orientations(self) -> dict[str, NDArray[np.float64]]:
        """Object name -> (4,) quaternion (w, x, y, z), world frame (``place`` only)."""
        ...

    def object_velocities(self) -> dict[str, NDArray[np.float64]]:
        """Object name -> (3,) linear velocity, world frame, m/s (``place`` only)."""
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
        if self.task is TaskKind.PLACE:
            return (on_target(scene, self.cube_name) and _at_rest(scene, self.cube_name)
                    and gripper_clear(scene, self.cube_name))
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


def task_objects(task: TaskKind) -> tuple[str, ...]:
    """The scene objects ``task`` is about: every ``Colour``'s cube, then (``place``) the pad."""
    cubes = tuple(colour.cube_name for colour in Colour)
    return cubes + ((TARGET_NAME,) if task is TaskKind.PLACE else ())


def check_scene_objects(task: TaskKind, object_names: Iterable[str]) -> None:
    """Check that a scene holds the objects ``task`` is about, before any episode runs.

    Raises:
        ConfigError: a cube missing, or, for ``place``, the target pad (the reach and lift
            scene has none: run ``place`` with ``config/tabletop_arm_place.yaml``).
    """
    names = set(object_names)
    missing = [name for name in task_objects(task) if name not in names]
    if missing:
        hint = '; config/tabletop_arm_place.yaml has it' if TARGET_NAME in missing else ''
        raise ConfigError(f'task {task.value!r}: the scene (sim.objects) lacks {missing!r}, '
                          f'it has {sorted(names)!r}{hint}')


def reach_point(scene: SceneReader, cube_name: str) -> NDArray[np.float64]:
    """(3,) point ``reach`` measures to: half an edge above the cube's centre, world, m."""
    point: NDArray[np.float64] = scene.object_positions()[cube_name] + np.array(
        [0.0, 0.0, CUBE_REST_Z_M])
    return point


def on_target(scene: SceneReader, cube_name: str) -> bool:
    """Whether the cube's centre lies over the pad's square (at any height).

    Raises:
        ConfigError: the scene has no ``TARGET_NAME`` (not the place task's scene).
    """
    return off_target_m(scene, cube_name) == 0.0


def off_target_m(scene: SceneReader, cube_name: str) -> float:
    """How far the cube's centre lies outside the pad's square, in the table's plane, m.

    0 when it lies over the square (at any height); otherwise the distance from the centre,
    projected onto the table, to the square's nearest edge or corner, in the pad's turned
    frame.

    Raises:
        ConfigError: the scene has no ``TARGET_NAME`` (not the place task's scene).
    """
    positions = scene.object_positions()
    if TARGET_NAME not in positions:
        raise ConfigError(f'place task: the scene has no {TARGET_NAME!r} among its objects '
                          f'{sorted(positions)!r}; run it with config/tabletop_arm_place.yaml')
    w, x, y, z = scene.object_orientations()[TARGET_NAME]
    yaw_rad = float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))
    offset = positions[cube_name][:2] - positions[TARGET_NAME][:2]
    along = np.array([[np.cos(yaw_rad), np.sin(yaw_rad)], [-np.sin(yaw_rad), np.cos(yaw_rad)]])
    outside = np.maximum(np.abs(along @ offset) - TARGET_HALF_SIZE_M, 0.0)
    return float(np.linalg.norm(outside))


def _at_rest(scene: SceneReader, cube_name: str) -> bool:
    """Whether the cube lies flat on the table (its resting height) and is still."""
    height_m = float(scene.object_positions()[cube_name][2]) - CUBE_REST_Z_M
    speed_m_s = float(np.linalg.norm(scene.object_velocities()[cube_name]))
    return abs(height_m) <= PLACE_HEIGHT_TOLERANCE_M and speed_m_s <= REST_SPEED_M_S


def gripper_clear(scene: SceneReader, cube_name: str) -> bool:
    """Whether the gripper has let the cube go: its fingertips above it, or far from it."""
    offset = scene.end_effector_position() - scene.object_positions()[cube_name]
    return bool(offset[2] >= CUBE_REST_Z_M + RELEASE_CLEARANCE_M
                or np.linalg.norm(offset[:2]) >= RELEASE_DISTANCE_M)



class FailureReason(enum.Enum):
    """Why an episode failed, as ``EpisodeWatch`` saw it."""

    NOT_REACHED = 'cube not reached'
    NEVER_GRASPED = 'cube never grasped'
    DROPPED = 'cube dropped'
    NOT_HIGH_ENOUGH = 'cube not high enough'
    WRONG_CUBE = 'another cube lifted'
    STILL_HELD = 'cube still held'
    DROPPED_OUTSIDE = 'cube dropped outside the target'
    PLACED_OUTSIDE = 'cube placed outside the target'
    NOT_AT_REST = 'cube on the target but not resting flat'
    WRONG_GRIPPER = 'reached with the other gripper'  # bimanual_tasks
    NOT_HANDED_OVER = 'cube not handed over'  # bimanual_tasks


class EpisodeWatch:
    """Watches an episode's scene at each check and says why the episode failed.

    Call ``observe`` at every check (it returns ``episode.is_success``), then
    ``failure_reason`` at the end. For ``lift`` and ``place`` it keeps the named cube's highest
    and last height above rest, and whether any other cube went above ``LIFT_HEIGHT_M``; for
    ``place`` also the cube's height when the gripper last held it (``HOLD_DISTANCE_M``), and
    whether at the last check the gripper was clear of it and it lay on the pad.
    """

    def __init__(self, episode: Episode) -> None:
        self._episode = episode
        self._succeeded = False
        self._other_lifted = False
        self._held_height_m = 0.0
        self._clear = True
        #: ``place`` only: how far the named cube lay outside the pad at the last check, m
        #: (0 over it; None for the other tasks, or before any check).
        self.off_target_m: float | None = None
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
        if self._episode.task is TaskKind.PLACE:
            self._observe_place(scene, height_m)
        succeeded = self._episode.is_success(scene)
        self._succeeded |= succeeded
        return succeeded

    def _observe_place(self, scene: SceneReader, height_m: float) -> None:
        name = self._episode.cube_name
        held_m = np.linalg.norm(scene.end_effector_position() - scene.object_positions()[name])
        if held_m <= HOLD_DISTANCE_M:
            self._held_height_m = height_m
        self._clear = gripper_clear(scene, name)
        self.off_target_m = off_target_m(scene, name)

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
        if self._episode.task is TaskKind.PLACE:
            return self._place_failure()
        assert self.last_height_m is not None  # set with max_height_m
        if self.last_height_m < GRASP_HEIGHT_M:
            return FailureReason.DROPPED
        return FailureReason.NOT_HIGH_ENOUGH

    def _place_failure(self) -> FailureReason:
        """Why a ``place`` whose cube was lifted failed, from the last check."""
        if not self._clear:
            return FailureReason.STILL_HELD
        if self.off_target_m:
            return FailureReason.DROPPED_OUTSIDE if self._held_height_m > DROP_HEIGHT_M \
                else FailureReason.PLACED_OUTSIDE
        return FailureReason.NOT_AT_REST
