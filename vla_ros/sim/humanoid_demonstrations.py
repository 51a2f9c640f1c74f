# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Scripted-expert demonstrations of the humanoid's hand reach, as ``demonstrations`` writes them.

``record_hand_reach_demonstrations`` runs ``HandReachExpert`` (``run_hand_reach_episode``) on
the scene of a ``SimConfig`` and writes one ``episode_NNNNNN.npz`` per episode, as
``demonstrations.record_demonstrations`` does for the tabletop arm. Only the commanded joints
are kept (``embodiment.controllers``' joints, in ``embodiment.joints`` order): a held
controller's joints (the G1's legs) are neither a policy's state nor its action, so a policy
trained on these files outputs exactly the joints its deployment config commands. The files
carry the episode as a reach (task, colour, instruction, seed); the hand is in the instruction.
``DemonstrationDataset`` reads them back.

With a ``driver`` policy the episodes are DAgger's: the policy drives the robot (a chunk every
``horizon`` steps from the step's observation, as the sync strategy executes it) and the expert,
continuing from the targets the policy sent (``HandReachExpert.continue_from``), labels every
state the policy visited with its next step towards the cube. The files are marked
``relabelled`` and kept for training whether the policy succeeded or not; recording stops once
the named cube has been pushed ``DISPLACED_M`` from where it started (the expert's goal was
fixed there, so its labels would no longer lead to the cube).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.sim.demonstrations import Demonstration, write_demonstrations
from vla_ros.sim.humanoid_expert import hand_reach_expert, POLICY_DT_S, run_hand_reach_episode
from vla_ros.sim.humanoid_tasks import HandReachEpisode, sample_hand_reach_episodes
from vla_ros.sim.mujoco_sim import MujocoSim
from vla_ros.sim.policy_driver import PolicyDriver
from vla_ros.sim.tasks import Episode

if TYPE_CHECKING:
    from vla_ros.core.config import CameraConfig
    from vla_ros.core.policy import Policy
    from vla_ros.core.sim_config import SimConfig

__all__ = ['DISPLACED_M', 'record_hand_reach_demonstrations', 'record_hand_reach_episode']

#: How far the named cube may be pushed (horizontally) before a driven episode stops recording.
DISPLACED_M = 0.02

#: Random stream of the action noise, apart from the scene's and the phrasing's.
_NOISE_STREAM = 0xDA27


def record_hand_reach_episode(sim: MujocoSim, episode: HandReachEpisode, *,
                              controllers: Mapping[str, tuple[str, ...]],
                              joint_names: Sequence[str],
                              cameras: Sequence[CameraConfig],
                              action_noise_rad: float = 0.0, driver: Policy | None = None,
                              horizon: int | None = None) -> Demonstration:
    """Run the hand-reach expert on ``episode`` in ``sim``; keep ``joint_names``' columns.

    With ``action_noise_rad`` > 0 the targets executed on ``joint_names`` get Gaussian noise of
    that standard deviation each step (seeded by the episode's seed), while the recorded
    actions stay the expert's: states off the expert's path, labelled with its way back.
    With ``driver`` the policy's targets are executed instead, ``horizon`` rows of each chunk
    (None: all of it), and the expert labels the states it visits (module doc).

    Raises:
        ConfigError: a name in ``joint_names`` that the sim does not simulate, a negative
            ``action_noise_rad``, both noise and a driver, a horizon below 1, or a driver
            that does not output exactly ``joint_names`` or reads a camera not in ``cameras``.
    """
    if not action_noise_rad >= 0.0:
        raise ConfigError(f'hand reach demonstrations: action noise {action_noise_rad} rad; '
                          'expected >= 0')
    missing = [name for name in joint_names if name not in sim.joint_names]
    if missing:
        raise ConfigError(f'hand reach demonstrations: joints {missing!r} are not simulated '
                          f'(sim joints {list(sim.joint_names)!r})')
    if driver is not None and action_noise_rad > 0.0:
        raise ConfigError('hand reach demonstrations: a driver policy and action noise; '
                          "choose one way off the expert's path")
    driving = None if driver is None else PolicyDriver(
        driver, joint_names, [camera.name for camera in cameras], horizon)
    columns = np.array([sim.joint_names.index(name) for name in joint_names])
    frames: dict[str, list[NDArray[np.uint8]]] = {camera.name: [] for camera in cameras}
    positions: list[NDArray[np.float64]] = []
    actions: list[NDArray[np.float64]] = []
    latest: dict[str, NDArray[np.uint8]] = {}
    cube_start: NDArray[np.float64] | None = None
    recording = True

    def keep(scene: MujocoSim, measured: NDArray[np.float64],
             action: NDArray[np.float64]) -> None:
        nonlocal cube_start, recording
        for camera in cameras:
            latest[camera.name] = camera.observed(
                scene.render(camera.name, camera.width, camera.height))
        cube_xy = scene.object_positions()[episode.cube_name][:2]
        if cube_start is None:
            cube_start = cube_xy.copy()
        if driving is not None and np.linalg.norm(cube_xy - cube_start) > DISPLACED_M:
            recording = False
        if not recording:
            return
        for camera in cameras:
            frames[camera.name].append(latest[camera.name])
        positions.append(measured[columns])
        actions.append(action[columns])

    rng = np.random.default_rng([episode.seed, _NOISE_STREAM])

    def perturb(action: NDArray[np.float64]) -> NDArray[np.float64]:
        executed = action.copy()
        executed[columns] += rng.normal(0.0, action_noise_rad, len(columns))
        return executed

    def drive(action: NDArray[np.float64]) -> NDArray[np.float64]:
        assert driving is not None
        executed = action.copy()
        executed[columns] = driving.targets(latest, sim.joint_positions()[columns],
                                            episode.instruction)
        return executed

    expert = hand_reach_expert(sim.config, controllers, episode)
    result = run_hand_reach_episode(
        sim, expert, episode, on_step=keep,
        perturb=perturb if action_noise_rad > 0.0 else None,
        drive=drive if driving is not None else None)
    return Demonstration(
        episode=Episode(task=episode.task, colour=episode.colour,
                        instruction=episode.instruction, seed=episode.seed),
        joint_names=tuple(joint_names),
        images={name: np.stack(images) for name, images in frames.items()},
        joint_positions=np.stack(positions), actions=np.stack(actions),
        success=result.success, dt_s=POLICY_DT_S, relabelled=driving is not None)


def record_hand_reach_demonstrations(
        *, sim_config: SimConfig, controllers: Mapping[str, tuple[str, ...]],
        joint_names: Sequence[str], count: int, seed: int, cameras: Sequence[CameraConfig],
        out_dir: Path, on_episode: Callable[[int, Demonstration], None] | None = None,
        action_noise_rad: float = 0.0, driver: Policy | None = None,
        horizon: int | None = None) -> list[Path]:
    """Record ``count`` expert episodes with scene seeds ``seed``, ``seed + 1``, ...

    Args:
        sim_config: the scene and its bindings (``VlaConfig.sim``).
        controllers: the commanded controllers (``embodiment.controllers``), which name the
            arms and the waist the expert moves.
        joint_names: the columns to keep, in order (the commanded joints).
        count: how many episodes.
        seed: the first scene seed.
        cameras: the cameras to render, at their configured sizes.
        out_dir: where ``episode_NNNNNN.npz`` go (created; existing files are replaced).
        on_episode: called with (index, demonstration) after each episode is written.
        action_noise_rad: noise on the executed targets (``record_hand_reach_episode``).
        driver: a policy that drives the robot while the expert labels (DAgger; module doc).
        horizon: chunk rows the driver's targets are taken from before it infers again
            (None: the whole chunk).

    Returns:
        The files written, in order.
    """
    with MujocoSim(sim_config, seed=seed) as sim:
        return write_demonstrations(
            ((episode.seed, record_hand_reach_episode(
                sim, episode, controllers=controllers, joint_names=joint_names, cameras=cameras,
                action_noise_rad=action_noise_rad, driver=driver, horizon=horizon))
             for episode in sample_hand_reach_episodes(count, seed)), out_dir, on_episode)
