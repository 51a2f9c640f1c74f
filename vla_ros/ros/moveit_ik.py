# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Optional: MoveIt's IK (through moveit_py) behind the ``IkSolver`` interface.

Selected per end-effector declaration with ``ik: moveit`` (and ``moveit_group``, the SRDF
planning group, default the controller's name). It needs a ROS install with MoveIt 2's Python
bindings (``ros-<distro>-moveit-py``) and a MoveIt configuration (URDF, SRDF,
``kinematics.yaml``) passed as ROS parameters to the process, as for any ``MoveItPy`` user;
``make_ik_solvers`` builds one solver per such declaration, and ``ActionSpaceConverter`` takes
them as ``ik_solvers``. moveit_py is imported only here and only when asked for: where it is
absent, asking raises a ConfigError that says so, and the Pinocchio path is unaffected.

MoveIt solves for the pose from the previous row's joints (``RobotState.set_from_ik``); the
answer is then boxed like Pinocchio's (URDF limits, per-step joint travel), so a solver that
jumps to another IK branch is clamped and reported, never executed. Errors are measured with
our own forward kinematics. MoveIt Servo is not wired: its twist input would bypass the
chunk timing that every other action space keeps.
"""

from __future__ import annotations

from collections.abc import Mapping
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.action_space_config import ActionSpaceConfig, EndEffectorGroup, IkBackend
from vla_ros.core.errors import ConfigError
from vla_ros.core.rotations import matrix_to_quaternion
from vla_ros.execution.kinematics import ArmKinematics, IkResult, IkSettings, IkSolver, Pose

__all__ = ['MoveItIkSolver', 'import_moveit', 'make_ik_solvers']


def import_moveit(module: str = 'moveit.planning') -> ModuleType:
    """Import a moveit_py module, or raise a ConfigError explaining that MoveIt is absent."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ConfigError(
            f'ik: moveit needs moveit_py (Python module {module!r}, ROS package '
            f'ros-<distro>-moveit-py), which is not installed here ({err}); install MoveIt 2 '
            'or declare ik: pinocchio') from err


class MoveItIkSolver:
    """IK of one planning group's tip through a moveit_py ``RobotModel``.

    Args:
        robot_model: a ``moveit.core.robot_model.RobotModel`` (e.g. from
            ``MoveItPy.get_robot_model()``), whose group has an IK plugin configured.
        group: the SRDF planning group; its joints must be ``kinematics.joint_names``.
        kinematics: our kinematics of the same joints and tip, for limits and error checks.
        timeout_s: time MoveIt may search per row, seconds.
    """

    def __init__(self, *, robot_model: Any, group: str, kinematics: ArmKinematics,
                 timeout_s: float = 0.02) -> None:
        self._robot_state_module = import_moveit('moveit.core.robot_state')
        self._pose_type = importlib.import_module('geometry_msgs.msg').Pose
        self._robot_model = robot_model
        self._group = group
        self._kinematics = kinematics
        self._timeout_s = timeout_s
        self._settings = IkSettings()

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The group's joints, the order of every joint array."""
        return self._kinematics.joint_names

    def solve(self, target: Pose, start: NDArray[np.float64], *,
              max_step_rad: NDArray[np.float64] | None = None,
              rest_positions: NDArray[np.float64] | None = None,
              position_only: bool = False) -> IkResult:
        """MoveIt's solution near ``start``, boxed by the limits and ``max_step_rad``.

        ``rest_positions`` and ``position_only`` are not supported by MoveIt's pose IK and are
        ignored (a position-only declaration should use the Pinocchio backend).
        """
        state = self._robot_state_module.RobotState(self._robot_model)
        state.set_joint_group_positions(self._group, np.asarray(start, dtype=np.float64))
        state.update()
        found = state.set_from_ik(self._group, self._pose_message(target),
                                  self._kinematics.frame, self._timeout_s)
        solution = np.asarray(state.get_joint_group_positions(self._group), dtype=np.float64) \
            if found else np.asarray(start, dtype=np.float64)
        lower, upper = self._kinematics.lower, self._kinematics.upper
        if max_step_rad is not None:
            lower = np.maximum(lower, start - np.abs(max_step_rad))
            upper = np.minimum(upper, start + np.abs(max_step_rad))
        boxed = np.clip(solution, lower, upper)
        reached_pose = self._kinematics.frame_pose(boxed)
        position_error_m = float(np.linalg.norm(target.position_m - reached_pose.position_m))
        cosine = (float(np.trace(target.rotation @ reached_pose.rotation.T)) - 1.0) / 2.0
        rotation_error_rad = float(np.arccos(np.clip(cosine, -1.0, 1.0)))
        singular_values = np.linalg.svd(self._kinematics.jacobian(boxed), compute_uv=False)
        return IkResult(
            joint_positions=boxed, position_error_m=position_error_m,
            rotation_error_rad=rotation_error_rad,
            reached=bool(found and position_error_m <= self._settings.reach_tolerance_m
                         and rotation_error_rad <= self._settings.reach_tolerance_rad),
            clamped_joints=int(np.count_nonzero(boxed != solution)),
            min_singular_value=float(singular_values[-1]))

    def _pose_message(self, target: Pose) -> Any:
        w, x, y, z = matrix_to_quaternion(target.rotation)
        message = self._pose_type()
        message.position.x, message.position.y, message.position.z = (
            float(value) for value in target.position_m)
        message.orientation.w, message.orientation.x = float(w), float(x)
        message.orientation.y, message.orientation.z = float(y), float(z)
        return message


def make_ik_solvers(config: ActionSpaceConfig, *, urdf_path: Path,
                    node_name: str = 'vla_moveit_ik') -> Mapping[str, IkSolver]:
    """One MoveIt solver per ``ik: moveit`` declaration of ``config`` (none: no MoveIt load).

    Raises:
        ConfigError: a declaration asks for MoveIt and moveit_py is not installed.
    """
    groups = [group for group in config.groups if isinstance(group, EndEffectorGroup)
              and group.ik_backend is IkBackend.MOVEIT]
    if not groups:
        return {}
    moveit_py = import_moveit('moveit.planning').MoveItPy(node_name=node_name)
    robot_model = moveit_py.get_robot_model()
    return {group.controller: MoveItIkSolver(
        robot_model=robot_model, group=group.moveit_group or group.controller,
        kinematics=ArmKinematics(urdf_path, group.joints, group.frame)) for group in groups}
