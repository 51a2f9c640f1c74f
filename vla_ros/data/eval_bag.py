# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Open-loop evaluation of a policy on a recorded bag: its chunks against the recorded actions.

The bag is split into episodes and resampled at the policy's own step (``1 / spec.dt_s``
frames per second, see ``sync``). At every ``stride``-th frame the policy gets the recorded
observation (its cameras, its joints, the episode's instruction) and returns a chunk; row r
of the chunk at frame k is due ``(r + 1) * dt_s`` after it, like recorded action ``k + r``, so
the two are compared where the episode still has that action. Nothing is commanded: the
policy never sees the consequences of its own actions, hence "open loop".

Errors are per joint, in the joint's unit (rad, or m for a prismatic joint): the mean absolute
error over every compared row, the same for the first row only (what a synchronous executor
would send first), the root mean square and the largest error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError, DataError
from vla_ros.core.types import Observation
from vla_ros.data.bag_reader import BagReader
from vla_ros.data.episodes import EpisodeSource, EpisodeSpan, split_episodes
from vla_ros.data.message_types import MessageTypes
from vla_ros.data.sync import (
    ActionSource,
    EpisodeTimeline,
    iter_frames,
    sample_episodes,
    StreamLayout,
)

if TYPE_CHECKING:
    from vla_ros.core.policy import Policy, PolicySpec

__all__ = ['BagEvaluation', 'EpisodeEvaluation', 'JointError', 'PredictedChunk',
           'evaluate_bag', 'joint_errors']


@dataclass(frozen=True, slots=True)
class JointError:
    """How far one joint's predictions were from the recorded actions (joint units)."""

    joint: str
    mean_abs: float
    first_step_mean_abs: float
    rmse: float
    max_abs: float


@dataclass(frozen=True, slots=True)
class PredictedChunk:
    """The policy's chunk at one frame.

    Attributes:
        frame_index: the frame whose observation it saw.
        positions: (L, J) float64; row r is due (r + 1) * dt_s after the frame.
    """

    frame_index: int
    positions: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EpisodeEvaluation:
    """One episode: what was recorded, what the policy predicted, and the errors.

    Attributes:
        episode: the span and its metadata.
        joint_names: the policy's joints, the columns of ``recorded``.
        dt_s: time between frames, seconds.
        recorded: (T, J) recorded actions; row k is due (k + 1) * dt_s after frame 0.
        chunks: the predictions, in frame order.
        errors: per joint, over this episode.
    """

    episode: EpisodeSpan
    joint_names: tuple[str, ...]
    dt_s: float
    recorded: NDArray[np.float64]
    chunks: tuple[PredictedChunk, ...]
    errors: tuple[JointError, ...]


@dataclass(frozen=True, slots=True)
class BagEvaluation:
    """Every episode of a bag, and the errors over all of them."""

    bag: Path
    joint_names: tuple[str, ...]
    episodes: tuple[EpisodeEvaluation, ...]
    errors: tuple[JointError, ...]


def joint_errors(joint_names: Sequence[str], chunks: Sequence[PredictedChunk],
                 recorded: NDArray[np.float64]) -> tuple[NDArray[np.float64],
                                                         NDArray[np.float64]]:
    """Differences predicted - recorded: (N, J) over every compared row, (M, J) first rows."""
    rows, first = [], []
    for chunk in chunks:
        first_row = chunk.frame_index
        count = min(len(chunk.positions), len(recorded) - first_row)
        difference = chunk.positions[:count] - recorded[first_row:first_row + count]
        rows.append(difference)
        first.append(difference[:1])
    width = len(joint_names)
    return (np.concatenate(rows) if rows else np.zeros((0, width)),
            np.concatenate(first) if first else np.zeros((0, width)))


def _summary(joint_names: Sequence[str], rows: NDArray[np.float64],
             first: NDArray[np.float64]) -> tuple[JointError, ...]:
    if not len(rows):
        raise DataError('no chunk to compare: every episode is shorter than the stride')
    return tuple(JointError(joint=name, mean_abs=float(np.mean(np.abs(rows[:, j]))),
                            first_step_mean_abs=float(np.mean(np.abs(first[:, j]))),
                            rmse=float(np.sqrt(np.mean(rows[:, j] ** 2))),
                            max_abs=float(np.max(np.abs(rows[:, j]))))
                 for j, name in enumerate(joint_names))


def evaluate_bag(bag: Path, policy: Policy, *, stride: int = 1,
                 episode_source: EpisodeSource = EpisodeSource.AUTO,
                 cameras: Mapping[str, str] | None = None,
                 default_instruction: str = '') -> BagEvaluation:
    """Run ``policy`` on every ``stride``-th recorded frame of ``bag`` and compare.

    Args:
        bag: the recording (a directory, or a .db3 or .mcap file).
        policy: a loaded policy; its spec gives joints, cameras and the step.
        stride: evaluate every stride-th frame (1: all).
        episode_source: what marks the episodes.
        cameras: camera name -> topic; None: every image topic, named after it.
        default_instruction: the instruction of episodes whose bag records none.

    Raises:
        ConfigError: a stride < 1, or a step that is not 1 / an integer number of frames.
        DataError: the bag lacks the policy's cameras or joints, commands, or instructions.
        InputError: an observation the policy refuses (image size).
    """
    spec = policy.spec
    if stride < 1:
        raise ConfigError(f'stride: {stride!r}, expected >= 1')
    fps = round(1.0 / spec.dt_s)
    if abs(fps * spec.dt_s - 1.0) > 1e-6:
        raise ConfigError(f'policy dt_s {spec.dt_s!r}: not 1 / an integer number of frames')
    types = MessageTypes().typestore
    with BagReader(bag) as reader:
        layout = _policy_layout(StreamLayout.detect(reader.info, cameras=cameras), spec, bag)
        spans = split_episodes(reader, types, source=episode_source)
        timelines = sample_episodes(reader, types, spans, layout=layout, fps=fps,
                                    action_source=ActionSource.COMMANDS,
                                    joint_names=spec.joint_names)
        instructions = [_instruction(timeline, default_instruction, bag)
                        for timeline in timelines]
        predicted: list[list[PredictedChunk]] = [[] for _ in timelines]
        for frame in iter_frames(reader, types, timelines, layout):
            if frame.frame_index % stride:
                continue
            timeline = timelines[frame.episode_index]
            observation = Observation(
                images=frame.images, joint_names=timeline.joint_names,
                joint_positions=timeline.joint_positions[frame.frame_index],
                instruction=instructions[frame.episode_index],
                stamp_s=frame.frame_index * spec.dt_s)
            chunk = policy.infer(observation)
            columns = [chunk.joint_names.index(name) for name in spec.joint_names]
            predicted[frame.episode_index].append(
                PredictedChunk(frame.frame_index, chunk.positions[:, columns]))
    return _evaluation(bag, spec, timelines, predicted)


def _policy_layout(layout: StreamLayout, spec: PolicySpec, bag: Path) -> StreamLayout:
    missing = [name for name in spec.camera_names if name not in layout.camera_names]
    if missing:
        raise DataError(f'{bag}: the policy reads cameras {list(spec.camera_names)}; the bag '
                        f'has {list(layout.camera_names)} (map them with name=topic)')
    return replace(layout, cameras=tuple(camera for camera in layout.cameras
                                         if camera.name in spec.camera_names))


def _instruction(timeline: EpisodeTimeline, default: str, bag: Path) -> str:
    instruction = timeline.episode.instruction or default
    if not instruction:
        raise DataError(f'{bag}: episode at {timeline.episode.start_ns} ns records no '
                        'instruction; give one')
    return instruction


def _evaluation(bag: Path, spec: PolicySpec, timelines: Sequence[EpisodeTimeline],
                predicted: Sequence[Sequence[PredictedChunk]]) -> BagEvaluation:
    episodes, all_rows, all_first = [], [], []
    for timeline, chunks in zip(timelines, predicted):
        rows, first = joint_errors(spec.joint_names, chunks, timeline.actions)
        all_rows.append(rows)
        all_first.append(first)
        episodes.append(EpisodeEvaluation(
            episode=timeline.episode, joint_names=spec.joint_names, dt_s=spec.dt_s,
            recorded=timeline.actions, chunks=tuple(chunks),
            errors=_summary(spec.joint_names, rows, first) if len(rows) else ()))
    if not episodes:
        raise DataError(f'{bag}: no episode with camera images, joint states and commands')
    return BagEvaluation(bag, spec.joint_names, tuple(episodes),
                         _summary(spec.joint_names, np.concatenate(all_rows),
                                  np.concatenate(all_first)))
