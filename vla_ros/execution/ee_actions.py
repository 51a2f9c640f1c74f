# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""End-effector action rows (pose deltas or absolute poses) -> joint targets, row by row.

Row layout: (x, y, z) m, then the rotation in the declared representation. For each row:

1. the target pose of the controlled frame. ``ee_pose``: the row is the pose in the reference
   frame. ``ee_delta``: the row moves a base pose, the pose measured at the observation (first
   row, or every row with ``delta_reference: observation``) or the pose the previous row
   reached. With the reference frame = the base, ``p' = p + dp`` and ``R' = dR @ R``; with a
   reference frame F, dp and dR are expressed in F's axes (``p' = p + R_F dp``,
   ``R' = R_F dR R_F^T R``); with F = the controlled frame (tool-frame deltas) the move
   composes on the right, ``T' = T @ dT``. The reference frame's pose is taken at the
   observation.
2. the move from the previous row's reached pose is clamped to the declared largest linear and
   angular speed times dt (each clamp counted);
3. inverse kinematics from the previous row's joints, each joint travelling at most its URDF
   velocity limit times dt (and at most ``max_step_rad``), within the position limits; a
   target it cannot reach (out of the workspace, behind a singularity) is counted as
   unreachable and the joints stop where the bounded solve left them: a clamped, reported
   motion, never a jump.

With ``rotation: none`` the IK solves for the position alone, and a declared ``rest_positions``
pulls the free rotation towards that pose through the null space.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.action_space_config import ActionSpace, DeltaReference, EndEffectorGroup
from vla_ros.core.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    rotation_angle,
    RotationRepresentation,
    vector_to_matrix,
)
from vla_ros.execution.conversion_report import ConversionReport
from vla_ros.execution.joint_limits import JointLimits
from vla_ros.execution.kinematics import ArmKinematics, IkResult, IkSolver, Pose

__all__ = ['EndEffectorConverter', 'SINGULAR_VALUE', 'limit_motion']

#: A solution whose task Jacobian has a singular value below this counts as near-singular.
SINGULAR_VALUE = 0.01


def limit_motion(start: Pose, target: Pose, *, max_distance_m: float,
                 max_angle_rad: float) -> tuple[Pose, int]:
    """``target`` moved back towards ``start`` until within the distance and angle.

    Returns:
        The limited pose and how many of its parts (position, rotation) were limited.
    """
    offset = target.position_m - start.position_m
    distance_m = float(np.linalg.norm(offset))
    limited = 0
    position = target.position_m
    if distance_m > max_distance_m:
        position = start.position_m + offset * (max_distance_m / distance_m)
        limited += 1
    turn = matrix_to_axis_angle(target.rotation @ start.rotation.T)
    angle_rad = float(np.linalg.norm(turn))
    rotation = target.rotation
    if angle_rad > max_angle_rad:
        rotation = axis_angle_to_matrix(turn * (max_angle_rad / angle_rad)) @ start.rotation
        limited += 1
    return Pose(position, rotation), limited


class EndEffectorConverter:
    """Converts one end-effector declaration's columns to its joints' targets.

    Args:
        group: the declaration.
        kinematics: Pinocchio kinematics of ``group.joints`` moving ``group.frame`` (poses,
            and the IK unless ``solver`` is given).
        limits: URDF limits of ``group.joints``, in that order.
        solver: another IK solver (MoveIt) over the same joints, or None for Pinocchio's.
        max_step_rad: largest joint change per row besides the velocity limits (the config's
            ``safety.max_step_rad``, so the chunk planner has nothing left to clip); None: none.
    """

    def __init__(self, group: EndEffectorGroup, kinematics: ArmKinematics, limits: JointLimits,
                 solver: IkSolver | None = None, *, max_step_rad: float | None = None) -> None:
        self._group = group
        self._max_step_rad = np.inf if max_step_rad is None else max_step_rad
        self._kinematics = kinematics
        self._limits = limits
        self._solver: IkSolver = kinematics if solver is None else solver
        self._rest = None if group.rest_positions is None else np.array(group.rest_positions)
        if group.reference_frame is not None:
            kinematics.frame_id(group.reference_frame)  # fail at configuration, not at run time

    def convert(self, columns: NDArray[np.float64], measured: NDArray[np.float64],
                dt_s: float) -> tuple[NDArray[np.float64], ConversionReport]:
        """(T, n) joint targets for (T, width) rows, and what had to be corrected."""
        group = self._group
        observed = self._kinematics.frame_pose(measured)
        reference = self._reference_pose(measured, observed)
        joints = np.clip(measured, self._limits.lower, self._limits.upper)
        reached = self._kinematics.frame_pose(joints)
        positions = np.empty((len(columns), len(joints)))
        report = ConversionReport()
        for row, values in enumerate(columns):
            base = reached if row > 0 and group.delta_reference is DeltaReference.PREVIOUS_ROW \
                else observed
            target = self._target(values, base, reference, reached)
            limited_target, limited = limit_motion(
                reached, target, max_distance_m=group.max_linear_speed_m_s * dt_s,
                max_angle_rad=group.max_angular_speed_rad_s * dt_s)
            result = self._solver.solve(
                limited_target, joints,
                max_step_rad=np.minimum(self._limits.velocity * dt_s, self._max_step_rad),
                rest_positions=self._rest,
                position_only=group.rotation is RotationRepresentation.NONE)
            joints = result.joint_positions
            positions[row] = joints
            reached = self._kinematics.frame_pose(joints)
            report = report.merged(_row_report(result, limited, target, reached))
        return positions, report

    def _target(self, values: NDArray[np.float64], base: Pose, reference: Pose,
                reached: Pose) -> Pose:
        """The pose one row asks for (step 1 of the module docstring)."""
        group = self._group
        move = Pose(values[:3], vector_to_matrix(group.rotation, values[3:]))
        if group.space is ActionSpace.EE_POSE:
            target = reference.compose(move)
        else:
            target = self._apply_delta(base, move, reference)
        if group.rotation is RotationRepresentation.NONE:
            return Pose(target.position_m, reached.rotation)  # the rotation is left free
        return target

    def _reference_pose(self, measured: NDArray[np.float64], observed: Pose) -> Pose:
        """Pose of the reference frame at the observation (the base: identity)."""
        frame = self._group.reference_frame
        if frame is None:
            return Pose(np.zeros(3), np.eye(3))
        if frame == self._group.frame:
            return observed
        return self._kinematics.frame_pose(measured, frame)

    def _apply_delta(self, base: Pose, move: Pose, reference: Pose) -> Pose:
        if self._group.reference_frame == self._group.frame:
            return base.compose(move)  # tool-frame delta
        axes = reference.rotation
        return Pose(base.position_m + axes @ move.position_m,
                    axes @ move.rotation @ axes.T @ base.rotation)


def _row_report(result: IkResult, limited: int, target: Pose, reached: Pose
                ) -> ConversionReport:
    """One row's corrections; the errors are measured to the target the policy asked for."""
    return ConversionReport(
        clamped_values=limited + result.clamped_joints,
        unreachable_steps=int(not result.reached),
        singular_steps=int(result.min_singular_value < SINGULAR_VALUE),
        max_position_error_m=float(np.linalg.norm(target.position_m - reached.position_m)),
        max_rotation_error_rad=rotation_angle(target.rotation @ reached.rotation.T))
