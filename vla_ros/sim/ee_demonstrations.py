# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The tabletop expert in end-effector delta space, as OpenVLA's and RT-2's actions are.

An end-effector action (7,) is what the scripted expert's joint targets mean for the tool
centre point ``ee_site`` (the URDF's ``ee_link``), measured from the observation's pose:

- ``[0:3]`` (dx, dy, dz) = p(target) - p(measured), base frame (= MuJoCo's world), m;
- ``[3:6]`` (droll, dpitch, dyaw): the roll-pitch-yaw (URDF convention) of
  ``R(target) @ R(measured)^T``, the rotation applied in base axes, rad;
- ``[6]`` the gripper target normalised onto its joint range: 0 closed (lower limit),
  1 open (upper limit).

Forward kinematics here is MuJoCo's, on a private copy of the scene; the execution layer
inverts it with Pinocchio on the URDF, so a round trip also checks that the two agree.
``TABLETOP_EE_ACTION_SPACE`` is the matching ``action_space`` declaration (the rows chain,
``delta_reference: previous_row``: row k of a chunk counts from where row k - 1 took the arm,
which is the measured pose a step later when the arm tracks its targets).

``EeDeltaExpert`` acts online; ``to_ee_delta_demonstration`` rewrites a recorded joint-space
demonstration, and ``record_ee_demonstrations`` records a dataset in this action space, with
the declaration beside it in ``action_space.yaml``.

``ObservedEeChunks`` is the other reference (``TABLETOP_EE_OBSERVED_ACTION_SPACE``,
``delta_reference: observation``, openpi's ``DeltaActions`` in end-effector space): every row
of a training chunk counts from the sample's observed pose, so an error in one row does not
carry into the next. It rewrites joint-space samples (``vla-ros demos``) chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TYPE_CHECKING

# The package's __init__ imported vla_ros.sim.mujoco_sim first, which chose the GL backend.
import mujoco
import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.rotations import matrix_to_rpy
from vla_ros.sim.demonstrations import (
    Demonstration,
    record_episode,
    save_demonstration,
    TrainingSample,
)
from vla_ros.sim.expert import ExpertScene, ScriptedExpert
from vla_ros.sim.scene import ARM_JOINT_NAMES, GRIPPER_JOINT_NAME, TabletopSim
from vla_ros.sim.tasks import Episode, sample_episodes, TaskKind

if TYPE_CHECKING:
    from vla_ros.core.config import CameraConfig
    from vla_ros.core.training_samples import SampleSource

__all__ = [
    'EeDeltaExpert', 'SiteKinematics', 'TABLETOP_EE_ACTION_SPACE', 'ee_delta_actions',
    'ObservedEeChunks', 'TABLETOP_EE_OBSERVED_ACTION_SPACE', 'record_ee_demonstrations',
    'to_ee_delta_demonstration',
]

#: The ``action_space`` declaration of the actions made here (config/tabletop_arm.yaml's
#: controllers), as it would appear in the YAML file.
TABLETOP_EE_ACTION_SPACE: dict[str, dict[str, Any]] = {
    'arm_controller': {'type': 'ee_delta', 'frame': 'ee_link', 'rotation': 'euler',
                       'delta_reference': 'previous_row'},
    'gripper_controller': {'type': 'gripper', 'joint': GRIPPER_JOINT_NAME},
}
#: The declaration of ``ObservedEeChunks``' actions: every row from the observed pose.
TABLETOP_EE_OBSERVED_ACTION_SPACE: dict[str, dict[str, Any]] = {
    'arm_controller': {**TABLETOP_EE_ACTION_SPACE['arm_controller'],
                       'delta_reference': 'observation'},
    'gripper_controller': TABLETOP_EE_ACTION_SPACE['gripper_controller'],
}
_SITE = 'ee_site'
_TABLETOP_JOINTS = (*ARM_JOINT_NAMES, GRIPPER_JOINT_NAME)


class SiteKinematics:
    """MuJoCo forward kinematics of ``ee_site`` and the gripper range, on a private copy.

    Raises:
        ConfigError: the scene cannot be loaded or lacks the arm joints, gripper or site.
    """

    def __init__(self, mjcf_path: Path) -> None:
        try:
            self._model = mujoco.MjModel.from_xml_path(str(mjcf_path))
            self._data = mujoco.MjData(self._model)
            joints = [self._model.joint(name) for name in ARM_JOINT_NAMES]
            gripper = self._model.joint(GRIPPER_JOINT_NAME)
            self._site_id = self._model.site(_SITE).id
        except (KeyError, ValueError) as err:
            raise ConfigError(f'sim.mjcf {str(mjcf_path)!r}: unusable scene: {err}') from err
        self._qpos_index = np.array([int(joint.qposadr[0]) for joint in joints])
        self.gripper_closed_m, self.gripper_open_m = (float(value) for value in gripper.range)

    def pose(self, joint_positions: NDArray[np.float64]
             ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(position (3,) m, rotation (3, 3)) of ``ee_site``, world, at (7,) or (6,) joints."""
        self._data.qpos[self._qpos_index] = joint_positions[:len(ARM_JOINT_NAMES)]
        mujoco.mj_kinematics(self._model, self._data)
        return (self._data.site_xpos[self._site_id].copy(),
                self._data.site_xmat[self._site_id].reshape(3, 3).copy())

    def normalised_gripper(self, opening_m: NDArray[np.float64] | float
                           ) -> NDArray[np.float64]:
        """Gripper joint positions, m, as 0 (closed) .. 1 (open)."""
        return np.asarray((np.asarray(opening_m) - self.gripper_closed_m)
                          / (self.gripper_open_m - self.gripper_closed_m), dtype=np.float64)


def ee_delta_actions(kinematics: SiteKinematics, joint_positions: NDArray[np.float64],
                     joint_targets: NDArray[np.float64]) -> NDArray[np.float64]:
    """(T, 7) end-effector actions of (T, 7) joint targets from (T, 7) measured joints."""
    actions = np.empty((len(joint_targets), 7))
    for step, (measured, target) in enumerate(zip(joint_positions, joint_targets)):
        measured_position, measured_rotation = kinematics.pose(measured)
        target_position, target_rotation = kinematics.pose(target)
        actions[step, :3] = target_position - measured_position
        actions[step, 3:6] = matrix_to_rpy(target_rotation @ measured_rotation.T)
        actions[step, 6] = kinematics.normalised_gripper(target[6])
    return actions


class EeDeltaExpert:
    """The scripted expert, acting in end-effector deltas; make a new one per episode.

    Args:
        mjcf_path: the scene file the sim runs.
        episode: the task and the cube it is about.
    """

    def __init__(self, mjcf_path: Path, episode: Episode) -> None:
        self._expert = ScriptedExpert(mjcf_path, episode)
        self._kinematics = SiteKinematics(mjcf_path)

    def act(self, scene: ExpertScene) -> NDArray[np.float64]:
        """The (7,) end-effector action for the next step (see the module docstring)."""
        measured = scene.joint_positions()
        target = self._expert.act(scene)
        actions = ee_delta_actions(self._kinematics, measured[np.newaxis], target[np.newaxis])
        return np.asarray(actions[0], dtype=np.float64)


def to_ee_delta_demonstration(demonstration: Demonstration,
                              kinematics: SiteKinematics) -> Demonstration:
    """``demonstration`` with its joint targets rewritten as end-effector actions (T, 7)."""
    actions = ee_delta_actions(kinematics, demonstration.joint_positions, demonstration.actions)
    return replace(demonstration, actions=actions)


class ObservedEeChunks:
    """Joint-space training samples whose chunks become end-effector moves from the observation.

    Row k of a sample's chunk is ``ee_delta_actions`` of the joint target due k + 1 steps
    later against the sample's observed joints (``TABLETOP_EE_OBSERVED_ACTION_SPACE``).

    Args:
        samples: joint-space samples of the tabletop arm (a ``DemonstrationDataset``), joints
            in the scene's order: the six arm joints, then the gripper.
        kinematics: forward kinematics of the scene they were recorded in.
    """

    def __init__(self, samples: SampleSource, kinematics: SiteKinematics) -> None:
        self._samples = samples
        self._kinematics = kinematics

    def __len__(self) -> int:
        return len(self._samples)

    def __getitem__(self, index: int) -> TrainingSample:
        """Sample ``index`` with its chunk rewritten.

        Raises:
            ConfigError: the sample's joints are not the tabletop arm's, in its order.
        """
        sample = self._samples[index]
        observation = sample.observation
        if observation.joint_names != _TABLETOP_JOINTS:
            joints = list(observation.joint_names)
            raise ConfigError(f'training sample {index}: joints {joints!r}, expected the '
                              f"tabletop arm's {list(_TABLETOP_JOINTS)!r}")
        actions = ee_delta_actions(
            self._kinematics, np.broadcast_to(observation.joint_positions, sample.actions.shape),
            sample.actions)
        return TrainingSample(observation=observation, actions=actions,
                              is_padding=sample.is_padding)


def record_ee_demonstrations(*, mjcf_path: Path, task: TaskKind, count: int, seed: int,
                             cameras: Sequence[CameraConfig], out_dir: Path) -> list[Path]:
    """Record ``count`` expert episodes (scene seeds ``seed``, ...) in end-effector actions.

    Files are those of ``vla_ros.sim.demonstrations`` (``episode_NNNNNN.npz``) with ``actions``
    holding end-effector actions; ``out_dir/action_space.yaml`` holds the declaration.

    Returns:
        The episode files written, in order.
    """
    import yaml  # PyYAML, a dependency of ours

    kinematics = SiteKinematics(mjcf_path)
    paths = []
    with TabletopSim(mjcf_path, seed=seed) as sim:
        for index, episode in enumerate(sample_episodes(task, count, seed)):
            recorded = record_episode(sim, mjcf_path, episode, cameras)
            path = out_dir / f'episode_{index:06d}.npz'
            save_demonstration(to_ee_delta_demonstration(recorded, kinematics), path)
            paths.append(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / 'action_space.yaml').write_text(
        yaml.safe_dump({'action_space': TABLETOP_EE_ACTION_SPACE}, sort_keys=False))
    return paths
