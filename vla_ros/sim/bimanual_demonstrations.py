# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Scripted-expert demonstrations of the bimanual tasks, in the format of ``demonstrations``.

``record_bimanual_demonstrations`` runs ``BimanualExpert`` (``run_bimanual_episode``) on the
scene of a ``SimConfig`` and writes one ``episode_NNNNNN.npz`` per episode, as
``demonstrations.record_demonstrations`` does for the tabletop arm, with the episode's
``side`` added; ``DemonstrationDataset`` reads them back. The arrays are in the simulator's
units: the grippers' columns are the finger opening in m, as the controllers receive it, not
the normalised [0, 1] command that ``embodiment.commands`` lets a policy output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.sim.bimanual_expert import BimanualExpertScene, POLICY_DT_S, run_bimanual_episode
from vla_ros.sim.bimanual_tasks import (
    BimanualEpisode,
    BimanualTaskKind,
    sample_bimanual_episodes,
)
from vla_ros.sim.demonstrations import Demonstration, write_demonstrations
from vla_ros.sim.mujoco_sim import MujocoSim

if TYPE_CHECKING:
    from vla_ros.core.config import CameraConfig
    from vla_ros.core.sim_config import SimConfig

__all__ = ['record_bimanual_demonstrations', 'record_bimanual_episode']



def record_bimanual_episode(sim: MujocoSim, episode: BimanualEpisode,
                            cameras: Sequence[CameraConfig]) -> Demonstration:
    """Run the bimanual expert on ``episode`` in ``sim`` and keep what it saw and did."""
    frames: dict[str, list[NDArray[np.uint8]]] = {camera.name: [] for camera in cameras}
    positions: list[NDArray[np.float64]] = []
    actions: list[NDArray[np.float64]] = []

    def keep(scene: BimanualExpertScene, measured: NDArray[np.float64],
             action: NDArray[np.float64]) -> None:
        for camera in cameras:
            frames[camera.name].append(
                camera.observed(sim.render(camera.name, camera.width, camera.height)))
        positions.append(measured)
        actions.append(action)

    result = run_bimanual_episode(sim, episode, on_step=keep)
    return Demonstration(
        episode=episode, joint_names=sim.joint_names,
        images={name: np.stack(images) for name, images in frames.items()},
        joint_positions=np.stack(positions), actions=np.stack(actions),
        success=result.success, dt_s=POLICY_DT_S)


def record_bimanual_demonstrations(
        *, sim_config: SimConfig, task: BimanualTaskKind, count: int, seed: int,
        cameras: Sequence[CameraConfig], out_dir: Path,
        on_episode: Callable[[int, Demonstration], None] | None = None) -> list[Path]:
    """Record ``count`` expert episodes with scene seeds ``seed``, ``seed + 1``, ...

    Args:
        sim_config: the scene and its bindings (``VlaConfig.sim``).
        task: the task of every episode.
        count: how many episodes.
        seed: the first scene seed.
        cameras: the cameras to render, at their configured sizes.
        out_dir: where ``episode_NNNNNN.npz`` go (created; existing files are replaced).
        on_episode: called with (index, demonstration) after each episode is written.

    Returns:
        The files written, in order.
    """
    with MujocoSim(sim_config, seed=seed) as sim:
        return write_demonstrations(
            ((episode.seed, record_bimanual_episode(sim, episode, cameras))
             for episode in sample_bimanual_episodes(task, count, seed)), out_dir, on_episode)
