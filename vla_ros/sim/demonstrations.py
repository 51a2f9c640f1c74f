# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Expert demonstrations on disk: record them in the sim, load them as training samples.

A dataset is a directory of ``episode_NNNNNN.npz`` files (numpy's zip of arrays, compressed,
no pickles), one per episode, numbered in recording order. Each file holds:

- ``format_version`` (int), ``task``, ``colour``, ``instruction`` (str), ``seed`` (int: the
  scene seed), ``success`` (bool), ``dt_s`` (float: time between steps, 0.1 s); ``side``
  (str) for the bimanual rig's tasks (``bimanual_tasks``, recorded by
  ``bimanual_demonstrations``); ``relabelled`` (bool, absent in older files: false) when a
  policy drove the robot and ``actions`` are the expert's labels of the states it visited
  (``humanoid_demonstrations``' DAgger episodes; ``success`` is then the policy's);
- ``joint_names`` (J,) str and ``camera_names`` (C,) str;
- ``images_<camera>`` (T, H, W, 3) uint8 RGB per camera, at the config's camera size;
- ``joint_positions`` (T, J) float64, rad (gripper m), measured when the images were taken;
- ``actions`` (T, J) float64: the absolute joint targets commanded from step t's observation,
  due one step (``dt_s``) later, rad (gripper m).

Step t's observation is taken, the expert computes ``actions[t]`` from the same state, and the
sim runs ``dt_s`` towards it; the episode ends a few steps after the task's first success (or
at the step budget). A training sample pairs step t's observation with ``actions[t:t + L]``,
``L`` the chunk length, the last action repeated past the episode's end (``is_padding``
marks those rows): the layout of ``ActionChunk``, whose row k is due (k + 1) * dt_s after the
observation. The same seed records the same files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
import dataclasses
from dataclasses import dataclass
import logging
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import Observation
from vla_ros.sim.bimanual_tasks import AnyEpisode, BimanualEpisode, BimanualTaskKind, Side
from vla_ros.sim.expert import max_steps_for, POLICY_DT_S, run_expert_episode, ScriptedExpert
from vla_ros.sim.missed_grasp import MissedGrasp, run_missed_grasp
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.policy_driver import PolicyDriver
from vla_ros.sim.scene import TabletopSim
from vla_ros.sim.tasks import check_scene_objects, Colour, Episode, sample_episodes, TaskKind

if TYPE_CHECKING:
    from vla_ros.core.config import CameraConfig
    from vla_ros.core.policy import Policy
    from vla_ros.core.sim_config import SimConfig

__all__ = [
    'DemonstrationDataset', 'Demonstration', 'FORMAT_VERSION', 'TrainingSample',
    'load_demonstration', 'record_demonstrations', 'record_episode', 'save_demonstration',
    'write_demonstrations',
]

_LOG = logging.getLogger(__name__)

FORMAT_VERSION = 1
#: Steps a missed-grasp recovery gets beyond the task's budget: it starts farther from done.
RECOVERY_EXTRA_STEPS = 30
_IMAGE_PREFIX = 'images_'


@dataclass(frozen=True, slots=True)
class Demonstration:
    """One recorded episode (see the module docstring for the arrays' meaning).

    Attributes:
        episode: the task, cube, instruction and scene seed.
        joint_names: the columns of ``joint_positions`` and ``actions``.
        images: camera name -> (T, H, W, 3) uint8 RGB.
        joint_positions: (T, J) float64 measured at each step, rad (gripper m).
        actions: (T, J) float64 targets commanded at each step, due ``dt_s`` later.
        success: whether the task succeeded during the episode.
        dt_s: time between steps, seconds.
        relabelled: a policy drove the robot and ``actions`` are the expert's labels of the
            states it visited (DAgger); such an episode is training data whatever its outcome.
    """

    episode: AnyEpisode
    joint_names: tuple[str, ...]
    images: Mapping[str, NDArray[np.uint8]]
    joint_positions: NDArray[np.float64]
    actions: NDArray[np.float64]
    success: bool
    dt_s: float
    relabelled: bool = False

    def __post_init__(self) -> None:
        steps, width = len(self.actions), len(self.joint_names)
        if self.actions.shape != (steps, width) or self.joint_positions.shape != (steps, width):
            raise ConfigError(
                f'demonstration of seed {self.episode.seed}: actions {self.actions.shape!r} '
                f'and joint_positions {self.joint_positions.shape!r}, expected (T, {width})')
        for camera, frames in self.images.items():
            if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[0] != steps:
                raise ConfigError(
                    f'demonstration of seed {self.episode.seed}: images {camera!r} '
                    f'{frames.dtype} {frames.shape!r}, expected uint8 ({steps}, H, W, 3)')

    @property
    def length(self) -> int:
        """Number of steps T."""
        return len(self.actions)

    def observation(self, step: int) -> Observation:
        """The observation of ``step``, stamped ``step * dt_s`` after the start."""
        return Observation(images={name: frames[step] for name, frames in self.images.items()},
                           joint_names=self.joint_names,
                           joint_positions=self.joint_positions[step],
                           instruction=self.episode.instruction, stamp_s=step * self.dt_s)


@dataclass(frozen=True, slots=True)
class TrainingSample:
    """An observation and the action chunk an imitating policy should output for it.

    Attributes:
        observation: step t's images, joint positions and instruction.
        actions: (L, J) float64 absolute targets; row k is due (k + 1) * dt_s after t.
        is_padding: (L,) bool, true for rows past the episode's end (copies of the last).
    """

    observation: Observation
    actions: NDArray[np.float64]
    is_padding: NDArray[np.bool_]


def record_episode(sim: MujocoSim, mjcf_path: Path, episode: Episode,
                   cameras: Sequence[CameraConfig], *,
                   missed_grasp: bool = False, near_miss: bool = False,
                   driver: Policy | None = None, horizon: int | None = None) -> Demonstration:
    """Run the scripted expert on ``episode`` in ``sim`` and keep what it saw and did.

    With ``missed_grasp`` the episode first makes the seed's ``MissedGrasp`` (not recorded),
    and the expert is recorded recovering from it, with ``RECOVERY_EXTRA_STEPS`` more steps;
    with ``near_miss`` the same from the seed's ``MissedGrasp.draw_near`` (an open descent
    off the cube's centre). With ``driver`` the policy drives the arm (``horizon`` rows of
    each chunk; None: all) and the expert labels the states it visits, following what the
    policy did to the cube (``ScriptedExpert.continue_from``): DAgger, marked ``relabelled``.

    Raises:
        ConfigError: both ``missed_grasp`` and ``near_miss``, a recovery with a driver, or a
            driver that does not fit (``PolicyDriver``).
    """
    if missed_grasp and near_miss:
        raise ConfigError('a recovery starts from a missed grasp or from a near miss, not both')
    if driver is not None and (missed_grasp or near_miss):
        raise ConfigError('a driven episode starts from the reset, not from a missed grasp')
    driving = None if driver is None else PolicyDriver(
        driver, sim.joint_names, [camera.name for camera in cameras], horizon)
    frames: dict[str, list[NDArray[np.uint8]]] = {camera.name: [] for camera in cameras}
    positions: list[NDArray[np.float64]] = []
    actions: list[NDArray[np.float64]] = []
    latest: dict[str, NDArray[np.uint8]] = {}

    def keep(scene: MujocoSim, measured: NDArray[np.float64],
             action: NDArray[np.float64]) -> None:
        for camera in cameras:
            latest[camera.name] = camera.observed(
                scene.render(camera.name, camera.width, camera.height))
            frames[camera.name].append(latest[camera.name])
        positions.append(measured)
        actions.append(action)

    def drive(action: NDArray[np.float64]) -> NDArray[np.float64]:
        assert driving is not None
        return driving.targets(latest, sim.joint_positions(), episode.instruction)

    max_steps = max_steps_for(episode.task)
    recovering = missed_grasp or near_miss
    if recovering:
        miss = MissedGrasp.draw(episode.seed) if missed_grasp else \
            MissedGrasp.draw_near(episode.seed)
        run_missed_grasp(sim, mjcf_path, episode, miss)
        max_steps += RECOVERY_EXTRA_STEPS
    result = run_expert_episode(sim, ScriptedExpert(mjcf_path, episode), episode,
                                max_steps=max_steps, on_step=keep, reset=not recovering,
                                drive=drive if driving is not None else None)
    return Demonstration(
        episode=episode, joint_names=sim.joint_names,
        images={name: np.stack(images) for name, images in frames.items()},
        joint_positions=np.stack(positions), actions=np.stack(actions),
        success=result.success, dt_s=POLICY_DT_S, relabelled=driving is not None)


def save_demonstration(demonstration: Demonstration, path: Path) -> None:
    """Write ``demonstration`` to ``path`` (a ``.npz``), in the format of the module doc."""
    episode = demonstration.episode
    arrays: dict[str, NDArray[Any]] = {
        'format_version': np.array(FORMAT_VERSION), 'task': np.array(episode.task.value),
        'colour': np.array(episode.colour.value), 'instruction': np.array(episode.instruction),
        'seed': np.array(episode.seed), 'success': np.array(demonstration.success),
        'dt_s': np.array(demonstration.dt_s), 'joint_names': np.array(demonstration.joint_names),
        'camera_names': np.array(list(demonstration.images)),
        'joint_positions': demonstration.joint_positions, 'actions': demonstration.actions,
        'relabelled': np.array(demonstration.relabelled)}
    if isinstance(episode, BimanualEpisode):
        arrays['side'] = np.array(episode.side.value)
    for camera, frames in demonstration.images.items():
        arrays[f'{_IMAGE_PREFIX}{camera}'] = frames
    path.parent.mkdir(parents=True, exist_ok=True)
    # numpy's stub types **kwds as if one of them could be its allow_pickle flag.
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def _episode_from(arrays: Mapping[str, Any]) -> AnyEpisode:
    """The episode an episode file describes: a bimanual one when it names a side."""
    colour = Colour(str(arrays['colour']))
    instruction, seed = str(arrays['instruction']), int(arrays['seed'])
    if 'side' in arrays:
        return BimanualEpisode(task=BimanualTaskKind(str(arrays['task'])), colour=colour,
                               side=Side(str(arrays['side'])), instruction=instruction,
                               seed=seed)
    return Episode(task=TaskKind(str(arrays['task'])), colour=colour, instruction=instruction,
                   seed=seed)


def load_demonstration(path: Path) -> Demonstration:
    """Read one episode file.

    Raises:
        ConfigError: unreadable, another format version, or a field missing or malformed.
    """
    try:
        with np.load(path, allow_pickle=False) as arrays:
            version = int(arrays['format_version'])
            if version != FORMAT_VERSION:
                raise ConfigError(f'{path}: format_version {version}, expected {FORMAT_VERSION}')
            episode = _episode_from(arrays)
            cameras = [str(name) for name in arrays['camera_names']]
            return Demonstration(
                episode=episode, joint_names=tuple(str(n) for n in arrays['joint_names']),
                images={camera: arrays[f'{_IMAGE_PREFIX}{camera}'] for camera in cameras},
                joint_positions=np.asarray(arrays['joint_positions'], dtype=np.float64),
                actions=np.asarray(arrays['actions'], dtype=np.float64),
                success=bool(arrays['success']), dt_s=float(arrays['dt_s']),
                relabelled='relabelled' in arrays and bool(arrays['relabelled']))
    except (OSError, KeyError, ValueError) as err:
        raise ConfigError(f'{path}: not a demonstration file: {err}') from err


def record_demonstrations(*, mjcf_path: Path, task: TaskKind, count: int, seed: int,
                          cameras: Sequence[CameraConfig], out_dir: Path,
                          on_episode: Callable[[int, Demonstration], None] | None = None,
                          sim_config: SimConfig | None = None,
                          missed_grasp: bool = False, near_miss: bool = False,
                          driver: Policy | None = None, horizon: int | None = None
                          ) -> list[Path]:
    """Record ``count`` expert episodes with scene seeds ``seed``, ``seed + 1``, ...

    Args:
        mjcf_path: the scene file.
        task: the task of every episode.
        count: how many episodes.
        seed: the first scene seed.
        cameras: the cameras to render, at their configured sizes.
        out_dir: where ``episode_NNNNNN.npz`` go (created; existing files are replaced).
        on_episode: called with (index, demonstration) after each episode is written.
        sim_config: the sim section (bindings, objects) the scene file runs with, as
            ``TabletopSim`` would take it from config/tabletop_arm.yaml when None; the place
            task's comes from config/tabletop_arm_place.yaml, whose objects hold its target.
        missed_grasp: record recoveries from a deliberate missed grasp (``record_episode``);
            lift and place only.
        near_miss: record recoveries from a descent that ends off the cube's centre
            (``record_episode``); lift and place only.
        driver: a policy that drives the arm while the expert labels (DAgger), as
            ``record_episode``.
        horizon: the driver's chunk rows executed per inference (None: all).

    Returns:
        The files written, in order.

    Raises:
        ConfigError: the scene lacks an object the task is about, or ``missed_grasp`` with
            ``reach``.
    """
    if (missed_grasp or near_miss) and task is TaskKind.REACH:
        raise ConfigError('missed-grasp recoveries need a task that grasps (lift, place), '
                          'not reach')
    scene = TabletopSim(mjcf_path, seed=seed) if sim_config is None \
        else MujocoSim(dataclasses.replace(sim_config, mjcf=mjcf_path), seed=seed)
    with scene as sim:
        check_scene_objects(task, sim.object_names)
        return write_demonstrations(
            ((episode.seed, record_episode(sim, mjcf_path, episode, cameras,
                                           missed_grasp=missed_grasp, near_miss=near_miss,
                                           driver=driver, horizon=horizon))
             for episode in sample_episodes(task, count, seed)), out_dir, on_episode)


def write_demonstrations(recorded: Iterable[tuple[int, Demonstration]], out_dir: Path,
                         on_episode: Callable[[int, Demonstration], None] | None = None,
                         ) -> list[Path]:
    """Save each (scene seed, demonstration) as ``out_dir/episode_NNNNNN.npz``, in order.

    Any robot's recorder feeds it: an episode the expert failed is saved and logged,
    ``on_episode`` is called with (index, demonstration) after each file is written.

    Returns:
        The files written, in order.
    """
    paths = []
    for index, (seed, demonstration) in enumerate(recorded):
        path = out_dir / f'episode_{index:06d}.npz'
        save_demonstration(demonstration, path)
        if not demonstration.success and not demonstration.relabelled:
            _LOG.warning('episode seed %d: the expert failed', seed)
        if on_episode is not None:
            on_episode(index, demonstration)
        paths.append(path)
    return paths


class DemonstrationDataset:
    """Every step of every episode in a directory, as training samples.

    Episodes are loaded into memory once (64x64 images keep that small).

    Args:
        directory: a dataset directory written by ``record_demonstrations``.
        chunk_length: actions per sample (the policy's ``chunk_length``).
        successful_only: skip episodes in which the expert failed (relabelled ones are
            kept: their labels are the expert's whatever the policy that drove them did).

    Raises:
        ConfigError: no episode files, an unreadable one, or a chunk length < 1.
    """

    def __init__(self, directory: Path, *, chunk_length: int,
                 successful_only: bool = True) -> None:
        if chunk_length < 1:
            raise ConfigError(f'chunk_length: {chunk_length!r}, expected >= 1')
        paths = sorted(Path(directory).glob('episode_*.npz'))
        if not paths:
            raise ConfigError(f'{directory}: no episode_*.npz files')
        loaded = [load_demonstration(path) for path in paths]
        layouts = {(demo.joint_names, tuple(demo.images), demo.dt_s) for demo in loaded}
        if len(layouts) != 1:
            raise ConfigError(f'{directory}: episodes differ in joints, cameras or dt_s: '
                              f'{sorted(layouts)!r}')
        self._episodes = [demo for demo in loaded
                          if demo.success or demo.relabelled or not successful_only]
        self._dt_s = loaded[0].dt_s
        self._chunk_length = chunk_length
        self._index = [(e, step) for e, demo in enumerate(self._episodes)
                       for step in range(demo.length)]

    @property
    def dt_s(self) -> float:
        """Time between steps (and between a sample's action rows), seconds."""
        return self._dt_s

    @property
    def episodes(self) -> list[Demonstration]:
        """The episodes in use, in file order."""
        return list(self._episodes)

    def __len__(self) -> int:
        return len(self._index)

    def __getitem__(self, index: int) -> TrainingSample:
        episode_index, step = self._index[index]
        demonstration = self._episodes[episode_index]
        rows = np.arange(step, step + self._chunk_length)
        is_padding = rows >= demonstration.length
        actions = demonstration.actions[np.minimum(rows, demonstration.length - 1)]
        return TrainingSample(observation=demonstration.observation(step), actions=actions,
                              is_padding=is_padding)

    def __iter__(self) -> Iterator[TrainingSample]:
        for index in range(len(self)):
            yield self[index]
