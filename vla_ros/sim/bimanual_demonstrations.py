# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Scripted-expert demonstrations of the bimanual tasks, in the format of ``demonstrations``.

``record_bimanual_demonstrations`` runs ``BimanualExpert`` (``run_bimanual_episode``) on the
scene of a ``SimConfig`` and writes one ``episode_NNNNNN.npz`` per episode, as
``demonstrations.record_demonstrations`` does for the tabletop arm, with the episode's
``side`` added; ``DemonstrationDataset`` reads them back. The arrays are in the simulator's
units: the grippers' columns are the finger opening in m, as the controllers receive it, not
the normalised [0, 1] command that ``embodiment.commands`` lets a policy output.

With a ``driver`` policy (side reach only) the episodes are DAgger's: the policy drives both
arms (a chunk every ``horizon`` steps from the step's observation, as the sync strategy
executes it) and the expert, continuing from the targets the policy sent
(``BimanualExpert.continue_from``), labels every state it visits; the files are marked
``relabelled`` and kept whether the policy reached the cube or not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.sim.bimanual_expert import BimanualExpertScene, POLICY_DT_S, run_bimanual_episode
from vla_ros.sim.bimanual_tasks import (
    BimanualEpisode,
    BimanualTaskKind,
    sample_bimanual_episodes,
)
from vla_ros.sim.demonstrations import Demonstration, write_demonstrations
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.policy_driver import PolicyDriver

if TYPE_CHECKING:
    from vla_ros.core.config import CameraConfig
    from vla_ros.core.policy import Policy
    from vla_ros.core.sim_config import SimConfig

__all__ = ['record_bimanual_demonstrations', 'record_bimanual_episode']



def record_bimanual_episode(sim: MujocoSim, episode: BimanualEpisode,
                            cameras: Sequence[CameraConfig], *, driver: Policy | None = None,
                            horizon: int | None = None) -> Demonstration:
    """Run the bimanual expert on ``episode`` in ``sim`` and keep what it saw and did.

    With ``driver`` the policy drives and the expert labels (module docstring).

    Raises:
        ConfigError: a driver on the hand-over, or a driver that does not fit
            (``PolicyDriver``).
    """
    if driver is not None and episode.task is not BimanualTaskKind.SIDE_REACH:
        raise ConfigError(f'--dagger: relabels side_reach, not {episode.task.value} (its grasps '
                          'and hand-off are not relabelled)')
    driving = None if driver is None else PolicyDriver(
        driver, sim.joint_names, [camera.name for camera in cameras], horizon)
    frames: dict[str, list[NDArray[np.uint8]]] = {camera.name: [] for camera in cameras}
    positions: list[NDArray[np.float64]] = []
    actions: list[NDArray[np.float64]] = []
    latest: dict[str, NDArray[np.uint8]] = {}

    def keep(scene: BimanualExpertScene, measured: NDArray[np.float64],
             action: NDArray[np.float64]) -> None:
        for camera in cameras:
            latest[camera.name] = camera.observed(
                sim.render(camera.name, camera.width, camera.height))
            frames[camera.name].append(latest[camera.name])
        positions.append(measured)
        actions.append(action)

    def drive(action: NDArray[np.float64]) -> NDArray[np.float64]:
        assert driving is not None
        return driving.targets(latest, sim.joint_positions(), episode.instruction)

    result = run_bimanual_episode(sim, episode, on_step=keep,
                                  drive=None if driving is None else drive)
    return Demonstration(
        episode=episode, joint_names=sim.joint_names,
        images={name: np.stack(images) for name, images in frames.items()},
        joint_positions=np.stack(positions), actions=np.stack(actions),
        success=result.success, dt_s=POLICY_DT_S, relabelled=driving is not None)


def record_bimanual_demonstrations(
        *, sim_config: SimConfig, task: BimanualTaskKind, count: int, seed: int,
        cameras: Sequence[CameraConfig], out_dir: Path,
        on_episode: Callable[[int, Demonstration], None] | None = None,
        driver: Policy | None = None, horizon: int | None = None) -> list[Path]:
    """Record ``count`` expert episodes with scene seeds ``seed``, ``seed + 1``, ...

    Args:
        sim_config: the scene and its bindings (``VlaConfig.sim``).
        task: the task of every episode.
        count: how many episodes.
        seed: the first scene seed.
        cameras: the cameras to render, at their configured sizes.
        out_dir: where ``episode_NNNNNN.npz`` go (created; existing files are replaced).
        on_episode: called with (index, demonstration) after each episode is written.
        driver: a policy that drives while the expert labels (DAgger; side reach only).
        horizon: the driver's chunk rows executed per inference (None: all).

    Returns:
        The files written, in order.

    Raises:
        ConfigError: a driver on the hand-over, or one that does not fit the scene.
    """
    with MujocoSim(sim_config, seed=seed) as sim:
        return write_demonstrations(
            ((episode.seed, record_bimanual_episode(sim, episode, cameras, driver=driver,
                                                    horizon=horizon))
             for episode in sample_bimanual_episodes(task, count, seed)), out_dir, on_episode)
