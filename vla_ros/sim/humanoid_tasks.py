# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Language-conditioned tasks on the humanoid: touch a cube with a named hand.

``hand_reach``, "touch the red cube with your right hand": success while the named hand's
frame (``sim.frames`` ``left_hand`` / ``right_hand``; on the G1 the middle of the palm's
underside behind the fingers) is within ``REACH_TOLERANCE_M`` (3 cm, Euclidean) of the named
cube's reach point, the centre of its top face (as for the tabletop arm's reach,
``vla_ros.sim.tasks.reach_point``; resets leave the cubes flat). The other hand does not
count.

The predicate reads the state at one instant; an evaluation decides how long to watch.
``make_hand_reach_episode`` draws colour, hand and wording from the episode seed on a stream of
its own (not the sim's placement stream), so neither correlates with where the cubes lie;
``sample_hand_reach_episodes`` numbers episodes ``seed, seed + 1, ...``. Numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.sim.tasks import Colour, CUBE_REST_Z_M, FailureReason, REACH_TOLERANCE_M, TaskKind

__all__ = ['Hand', 'HAND_REACH_TASK', 'HandReachEpisode', 'HandReachWatch', 'HandScene',
           'PHRASINGS', 'make_hand_reach_episode', 'sample_hand_reach_episodes']

#: The task's name (``vla-ros eval --task``).
HAND_REACH_TASK = 'hand_reach'
#: Instruction templates; ``{colour}`` and ``{hand}`` become the cube's colour and the side.
PHRASINGS = (
    'touch the {colour} cube with your {hand} hand',
    'reach the {colour} cube with your {hand} hand',
    'put your {hand} hand on the {colour} cube',
    'use your {hand} hand to touch the {colour} block',
    'move your {hand} hand to the {colour} block',
)
#: Keeps the episode's language stream apart from the sim's placement stream of the same seed.
_LANGUAGE_STREAM = 0x4A4D


class Hand(enum.Enum):
    """Which hand an instruction names."""

    LEFT = 'left'
    RIGHT = 'right'

    @property
    def frame(self) -> str:
        """The hand's frame in ``sim.frames``."""
        return f'{self.value}_hand'


class HandScene(Protocol):
    """The part of ``MujocoSim`` the predicate reads."""

    def object_positions(self) -> dict[str, NDArray[np.float64]]:
        """Cube name -> (3,) centre, world frame, m."""
        ...

    def frame_position(self, frame: str) -> NDArray[np.float64]:
        """(3,) position of a named frame, world frame, m."""
        ...


@dataclass(frozen=True, slots=True)
class HandReachEpisode:
    """Touch one cube with one hand.

    Attributes:
        colour: which cube.
        hand: which hand.
        instruction: the words sent to the policy.
        seed: the scene seed (``MujocoSim.reset(seed)``); also seeds colour, hand and wording.
    """

    colour: Colour
    hand: Hand
    instruction: str
    seed: int

    @property
    def task(self) -> TaskKind:
        """A reach (what an evaluation's failure reasons go by)."""
        return TaskKind.REACH

    @property
    def cube_name(self) -> str:
        """The body name of the cube the episode is about."""
        return self.colour.cube_name

    def reach_point(self, scene: HandScene) -> NDArray[np.float64]:
        """(3,) centre of the cube's top face (half an edge above its centre), world, m."""
        point: NDArray[np.float64] = scene.object_positions()[self.cube_name] + np.array(
            [0.0, 0.0, CUBE_REST_Z_M])
        return point

    def distance_m(self, scene: HandScene) -> float:
        """Distance from the named hand's frame to the cube's reach point, m."""
        return float(np.linalg.norm(scene.frame_position(self.hand.frame)
                                    - self.reach_point(scene)))

    def is_success(self, scene: HandScene) -> bool:
        """Whether the named hand's frame is within ``REACH_TOLERANCE_M`` of the reach point."""
        return self.distance_m(scene) <= REACH_TOLERANCE_M


def make_hand_reach_episode(seed: int) -> HandReachEpisode:
    """The episode of scene seed ``seed``: colour, hand and wording drawn from it.

    Raises:
        ConfigError: a negative seed.
    """
    if seed < 0:
        raise ConfigError(f'episode seed: {seed!r}, expected >= 0')
    rng = np.random.default_rng((seed, _LANGUAGE_STREAM))
    colour = list(Colour)[int(rng.integers(len(Colour)))]
    hand = list(Hand)[int(rng.integers(len(Hand)))]
    template = PHRASINGS[int(rng.integers(len(PHRASINGS)))]
    return HandReachEpisode(colour=colour, hand=hand, seed=seed,
                            instruction=template.format(colour=colour.value, hand=hand.value))


def sample_hand_reach_episodes(count: int, seed: int) -> list[HandReachEpisode]:
    """``count`` episodes with scene seeds ``seed``, ``seed + 1``, ...

    Raises:
        ConfigError: a negative count or seed.
    """
    if count < 0:
        raise ConfigError(f'episode count: {count!r}, expected >= 0')
    return [make_hand_reach_episode(seed + index) for index in range(count)]


class HandReachWatch:
    """Watches a hand-reach episode at each check (the interface of ``tasks.EpisodeWatch``).

    ``observe`` at every check returns ``episode.is_success``; ``failure_reason`` at the end
    is None after a success, else ``NOT_REACHED``; ``max_height_m`` is the named cube's highest
    centre above its resting height (a knocked-over or lifted cube shows there).
    """

    def __init__(self, episode: HandReachEpisode) -> None:
        self._episode = episode
        self._succeeded = False
        self._rest_z_m: float | None = None
        #: Highest height of the named cube above where it started, m (None before any check).
        self.max_height_m: float | None = None

    def observe(self, scene: HandScene) -> bool:
        """Record ``scene``'s state; whether the episode's task is done now."""
        z_m = float(scene.object_positions()[self._episode.cube_name][2])
        if self._rest_z_m is None:
            self._rest_z_m = z_m
        height_m = z_m - self._rest_z_m
        self.max_height_m = height_m if self.max_height_m is None \
            else max(self.max_height_m, height_m)
        succeeded = self._episode.is_success(scene)
        self._succeeded |= succeeded
        return succeeded

    def failure_reason(self) -> FailureReason | None:
        """None after a success, else ``FailureReason.NOT_REACHED``."""
        return None if self._succeeded else FailureReason.NOT_REACHED
