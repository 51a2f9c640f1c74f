# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The one success check of a sim episode, shared by `vla-ros eval` and `vla-ros demo`.

A ``SuccessCheck`` watches an episode on the sim node's scene (read under its lock) through the
task's watch (``EpisodeWatch`` for the tabletop's ``Episode``, ``BimanualWatch`` for the ALOHA
rig's, ``HandReachWatch`` for the humanoid's): each ``observe`` reads the task's predicate and
keeps the simulated time from the start to the first success, and the watch says afterwards
why a failed episode failed. For the reaches (the tabletop's ``reach``, ALOHA's ``side_reach``,
the G1's hand reach) it also keeps how close the reaching frame came to the named cube's top
(``closest_m``) and which cube it was nearest at the last check (``ended_nearest``): a miss
by 4 cm, a stall half-way and a reach for the wrong colour look alike in a success rate. The
simulator decides; the policy never sees the check.

The evaluation samples its episodes; the demo has only an instruction, so
``episode_for_instruction`` makes the episode it names: the cube of the one colour it names,
reached with the hand it names ("... with your right hand", ``left_hand``/``right_hand``
frames), the gripper it names ("... with the left gripper", ``left_end_effector`` /
``right_end_effector``), or else the ``end_effector``; or lifted, for ``lift``, or put on the
target pad, for ``place``. Scenes without the three cubes or such a frame have no check.
"""

from __future__ import annotations

import numpy as np

from vla_ros.sim.bimanual_tasks import (
    AnyEpisode,
    BimanualEpisode,
    BimanualTaskKind,
    BimanualWatch,
    Side,
)
from vla_ros.sim.humanoid_tasks import Hand, HandReachEpisode, HandReachWatch
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.tasks import Colour, Episode, EpisodeWatch, reach_point, TaskKind

__all__ = ['EpisodeWatcher', 'EvaluatedEpisode', 'SuccessCheck', 'cube_distances_m',
           'episode_for_instruction', 'reach_frame', 'watch_for']

#: What the check watches: the tabletop's, the bimanual rig's and the humanoid's episodes.
EvaluatedEpisode = AnyEpisode | HandReachEpisode
#: The watch of each kind of episode (``observe``, ``failure_reason``, ``max_height_m``).
EpisodeWatcher = EpisodeWatch | BimanualWatch | HandReachWatch


def watch_for(episode: EvaluatedEpisode) -> EpisodeWatcher:
    """The watch of ``episode``'s kind."""
    if isinstance(episode, HandReachEpisode):
        return HandReachWatch(episode)
    if isinstance(episode, BimanualEpisode):
        return BimanualWatch(episode)
    return EpisodeWatch(episode)


class SuccessCheck:
    """Watches ``episode`` on ``sim`` from the moment it is made.

    In a graph, make it and call ``observe`` while holding the sim node's ``lock`` (the physics
    thread steps the scene under it). ``started_s`` is the sim time at construction;
    ``elapsed_s`` the time from it to the last ``observe``; ``time_to_success_s`` the time to
    the first success, or None.
    """

    def __init__(self, sim: MujocoSim, episode: EvaluatedEpisode) -> None:
        self._sim = sim
        self.episode = episode
        self.watch = watch_for(episode)
        self.started_s = sim.time_s
        self.elapsed_s = 0.0
        self.time_to_success_s: float | None = None
        self._frame = _reaching_frame(sim, episode)
        #: Smallest distance from the reaching frame to the named cube's top so far, m
        #: (None for a task that is not a reach, or before any check).
        self.closest_m: float | None = None
        #: The colour of the cube nearest the reaching frame at the last check (None likewise).
        self.ended_nearest: Colour | None = None

    def observe(self) -> bool:
        """Read the scene now; whether the episode's task is done."""
        self.elapsed_s = self._sim.time_s - self.started_s
        succeeded = self.watch.observe(self._sim)
        if succeeded and self.time_to_success_s is None:
            self.time_to_success_s = self.elapsed_s
        if self._frame is not None:
            distances = cube_distances_m(self._sim, self._frame)
            named_m = distances[self.episode.colour.value]
            self.closest_m = named_m if self.closest_m is None else min(self.closest_m, named_m)
            self.ended_nearest = Colour(min(distances, key=distances.__getitem__))
        return succeeded

    @property
    def off_target_m(self) -> float | None:
        """``place``: how far the named cube lay outside the pad at the last check, m.

        0 over the pad; None for the other tasks, or before any check.
        """
        return self.watch.off_target_m if isinstance(self.watch, EpisodeWatch) else None


def _reaching_frame(sim: MujocoSim, episode: EvaluatedEpisode) -> str | None:
    """The frame a reach episode's success is measured at; None for the other tasks."""
    if isinstance(episode, HandReachEpisode):
        return episode.hand.frame
    if isinstance(episode, BimanualEpisode):
        return episode.side.frame if episode.task is BimanualTaskKind.SIDE_REACH else None
    if episode.task is TaskKind.REACH and 'end_effector' in sim.frame_names:
        return 'end_effector'
    return None


def _named_colour(instruction: str) -> Colour | None:
    """The cube colour the instruction names, if it names exactly one."""
    named = [colour for colour in Colour if colour.value in instruction.lower().split()]
    return named[0] if len(named) == 1 else None


def reach_frame(scene: MujocoSim, instruction: str) -> str | None:
    """The frame a reach is measured at: the hand the instruction names, else the end effector.

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


def episode_for_instruction(scene: MujocoSim, instruction: str, *, seed: int,
                            task: TaskKind = TaskKind.REACH) -> EvaluatedEpisode | None:
    """The episode ``instruction`` asks for in ``scene`` (module docstring), or None."""
    frame = reach_frame(scene, instruction)
    colour = _named_colour(instruction) if frame else None
    if frame is None or colour is None:
        return None
    if task is not TaskKind.REACH:  # lift or place: the tabletop arm's gripper tasks
        return Episode(task=task, colour=colour, instruction=instruction, seed=seed)
    if frame.endswith('_hand'):
        return HandReachEpisode(colour=colour, hand=Hand(frame.removesuffix('_hand')),
                                instruction=instruction, seed=seed)
    if frame != 'end_effector':
        return BimanualEpisode(task=BimanualTaskKind.SIDE_REACH, colour=colour,
                               side=Side(frame.removesuffix('_end_effector')),
                               instruction=instruction, seed=seed)
    return Episode(task=TaskKind.REACH, colour=colour, instruction=instruction, seed=seed)


def cube_distances_m(scene: MujocoSim, frame: str) -> dict[str, float]:
    """Colour -> distance from ``frame`` to that cube's reach point (its top), m."""
    position = scene.frame_position(frame)
    return {colour.value: float(np.linalg.norm(position - reach_point(scene, colour.cube_name)))
            for colour in Colour}
