# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Arm kinematics from the URDF with Pinocchio: frame poses, Jacobians, differential IK.

``ArmKinematics`` keeps the joints of one controller free and locks every other URDF joint at
its neutral position (Pinocchio's ``buildReducedModel``). Poses are in the URDF root frame
(the robot base); Jacobians are ``LOCAL_WORLD_ALIGNED`` (linear velocity of the frame's origin
and angular velocity, both in base axes), the frame of the pose error.

``solve`` is damped least squares (Levenberg-Marquardt, the damping shrinking with the
error) with the joints boxed: every iterate stays inside the URDF position limits and,
optionally, inside ``start +- max_step_rad`` (what the joints can travel in one chunk step),
so an unreachable or singular target gives a bounded motion towards it, never a jump. A joint
pressed against its box leaves the least-squares problem (an active set), so the others still
make progress. When the task has fewer dimensions than free joints (a redundant arm, or a
position-only task), the remaining freedom is pulled towards a rest pose through the exact
null-space projector of the Jacobian. The result says how close the solve came, how many
joints it clamped, and how singular the arm is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.rotations import matrix_to_axis_angle

__all__ = ['ArmKinematics', 'IkResult', 'IkSettings', 'IkSolver', 'Pose']


#: Damping that remains at zero error, so the damped system stays invertible.
_MIN_DAMPING_SQUARED = 1e-12


@dataclass(frozen=True, slots=True)
class Pose:
    """A rigid transform: ``position_m`` (3,) m and ``rotation`` (3, 3), in some parent frame."""

    position_m: NDArray[np.float64]
    rotation: NDArray[np.float64]

    def compose(self, other: Pose) -> Pose:
        """``self * other``: ``other`` expressed in ``self``'s frame, taken to the parent."""
        return Pose(self.position_m + self.rotation @ other.position_m,
                    self.rotation @ other.rotation)

    def inverse(self) -> Pose:
        """The transform back from the parent frame."""
        return Pose(-self.rotation.T @ self.position_m, self.rotation.T.copy())


@dataclass(frozen=True, slots=True)
class IkSettings:
    """Tuning of the differential IK; the defaults suit arms of about a metre.

    Attributes:
        damping: largest Levenberg-Marquardt damping (m or rad), used while the error is
            larger than it; bounds the steps near singularities.
        max_iterations: Gauss-Newton iterations per solve.
        tolerance_m: position error at which the iteration stops, m.
        tolerance_rad: rotation error at which the iteration stops, rad.
        reach_tolerance_m: largest final position error that counts as reached, m.
        reach_tolerance_rad: largest final rotation error that counts as reached, rad.
        max_iteration_step_rad: largest joint change in one iteration, rad.
        nullspace_gain: fraction of the way to the rest pose taken per iteration (0..1).
    """

    damping: float = 0.02
    max_iterations: int = 100
    tolerance_m: float = 1e-7
    tolerance_rad: float = 1e-6
    reach_tolerance_m: float = 1e-3
    reach_tolerance_rad: float = 1e-2
    max_iteration_step_rad: float = 0.2
    nullspace_gain: float = 0.2


@dataclass(frozen=True, slots=True)
class IkResult:
    """What a solve found.

    Attributes:
        joint_positions: (J,) solution in ``joint_names`` order, inside the limits, rad (m).
        position_error_m: distance left between the frame and the target, m.
        rotation_error_rad: rotation angle left (0 for a position-only solve), rad.
        reached: both errors within the reach tolerances.
        clamped_joints: joints held at a limit or step bound while the solve pushed further.
        min_singular_value: smallest singular value of the task Jacobian at the solution.
    """

    joint_positions: NDArray[np.float64]
    position_error_m: float
    rotation_error_rad: float
    reached: bool
    clamped_joints: int
    min_singular_value: float


class IkSolver(Protocol):
    """Inverse kinematics of one frame over a fixed list of joints (Pinocchio or MoveIt)."""

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The joints solved for, the order of every joint array."""
        ...

    def solve(self, target: Pose, start: NDArray[np.float64], *,
              max_step_rad: NDArray[np.float64] | None = None,
              rest_positions: NDArray[np.float64] | None = None,
              position_only: bool = False) -> IkResult:
        """Joints near ``start`` that put the frame at ``target`` (base frame)."""
        ...


@dataclass(frozen=True, slots=True)
class _Box:
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]


class ArmKinematics:
    """Kinematics of the chain that moves URDF frame ``frame`` through ``joint_names``.

    Args:
        urdf_path: the robot description.
        joint_names: the free joints (one-degree-of-freedom URDF joints), in action order.
        frame: the controlled frame (a link or joint name of the URDF), e.g. the tool centre.
        settings: IK tuning.

    Raises:
        ConfigError: unreadable URDF, unknown or multi-DOF joint, unknown frame.
    """

    def __init__(self, urdf_path: Path, joint_names: Sequence[str], frame: str, *,
                 settings: IkSettings | None = None) -> None:
        import pinocchio  # kinematics library; only the execution layer may load it

        self._pin = pinocchio
        full = _load_model(pinocchio, Path(urdf_path))
        missing = [name for name in joint_names if not full.existJointName(name)]
        if missing:
            raise ConfigError(f'joints {missing!r} are not in URDF {str(urdf_path)!r}')
        locked = [joint_id for joint_id in range(1, full.njoints)
                  if full.names[joint_id] not in joint_names]
        self._model = pinocchio.buildReducedModel(full, locked, pinocchio.neutral(full))
        self._data = self._model.createData()
        self._joint_names = tuple(joint_names)
        self._q_index = []
        for name in self._joint_names:
            joint = self._model.joints[self._model.getJointId(name)]
            if joint.nq != 1 or joint.nv != 1:
                raise ConfigError(f'joint {name!r} has {joint.nq} position variables; only '
                                  'one-degree-of-freedom joints can be solved for')
            self._q_index.append(joint.idx_q)
        self.lower = np.asarray(self._model.lowerPositionLimit[self._q_index], dtype=np.float64)
        self.upper = np.asarray(self._model.upperPositionLimit[self._q_index], dtype=np.float64)
        self._frame = frame
        self._frame_id = self.frame_id(frame)
        self._settings = settings or IkSettings()

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The free joints, the order of every joint array."""
        return self._joint_names

    @property
    def frame(self) -> str:
        """The controlled frame."""
        return self._frame

    def frame_id(self, frame: str) -> int:
        """Pinocchio's id of URDF frame ``frame``; raises ConfigError if there is none."""
        if not self._model.existFrame(frame):
            names = sorted({item.name for item in self._model.frames})
            raise ConfigError(f'frame {frame!r} is not in the URDF; it has {names!r}')
        return int(self._model.getFrameId(frame))

    def _configuration(self, joint_positions: NDArray[np.float64]) -> NDArray[np.float64]:
        positions = np.asarray(joint_positions, dtype=np.float64)
        if positions.shape != (len(self._joint_names),) or not np.all(np.isfinite(positions)):
            raise InputError(f'joint positions {positions!r}: expected '
                             f'{len(self._joint_names)} finite values for {self._joint_names!r}')
        q = self._pin.neutral(self._model)
        q[self._q_index] = positions
        return np.asarray(q, dtype=np.float64)

    def frame_pose(self, joint_positions: NDArray[np.float64], frame: str | None = None) -> Pose:
        """Pose of ``frame`` (default: the controlled frame) in the base frame at the joints."""
        frame_id = self._frame_id if frame is None else self.frame_id(frame)
        q = self._configuration(joint_positions)
        self._pin.forwardKinematics(self._model, self._data, q)
        placement = self._pin.updateFramePlacement(self._model, self._data, frame_id)
        return Pose(np.array(placement.translation), np.array(placement.rotation))

    def jacobian(self, joint_positions: NDArray[np.float64]) -> NDArray[np.float64]:
        """(6, J) Jacobian of the controlled frame: linear rows (m/rad) then angular rows."""
        q = self._configuration(joint_positions)
        full = self._pin.computeFrameJacobian(self._model, self._data, q, self._frame_id,
                                              self._pin.ReferenceFrame.LOCAL_WORLD_ALIGNED)
        return np.asarray(full[:, self._q_index], dtype=np.float64)

    def solve(self, target: Pose, start: NDArray[np.float64], *,
              max_step_rad: NDArray[np.float64] | None = None,
              rest_positions: NDArray[np.float64] | None = None,
              position_only: bool = False) -> IkResult:
        """Joints near ``start`` that put the controlled frame at ``target``.

        Args:
            target: the frame's pose in the base frame (only its position if ``position_only``).
            start: (J,) initial joints, rad; clipped into the limits first.
            max_step_rad: (J,) largest change from ``start`` per joint; None: unbounded.
            rest_positions: (J,) pose the redundant freedom is pulled to; None: no pull.
            position_only: solve for the position alone (3 task dimensions).

        Returns:
            The best joints found (always within the limits and step bounds) and the errors.
        """
        start = np.clip(np.asarray(start, dtype=np.float64), self.lower, self.upper)
        box = self._box(start, max_step_rad)
        joints = np.clip(start, box.lower, box.upper)
        clamped = np.zeros(len(joints), dtype=bool)
        for _ in range(self._settings.max_iterations):
            error = self._error(target, joints, position_only)
            jacobian = self.jacobian(joints)[:len(error)]
            redundant = rest_positions is not None and len(error) < len(joints)
            if self._converged(error) and not redundant:
                break
            pull = None if not redundant else self._settings.nullspace_gain * (
                np.asarray(rest_positions) - joints)
            step, clamped = self._boxed_step(jacobian, error, joints, box, pull)
            joints = np.clip(joints + step, box.lower, box.upper)
            if redundant and self._converged(error) and float(np.max(np.abs(step))) < 1e-7:
                break
        return self._result(target, joints, position_only, int(np.count_nonzero(clamped)))

    def _box(self, start: NDArray[np.float64],
             max_step_rad: NDArray[np.float64] | None) -> _Box:
        if max_step_rad is None:
            return _Box(self.lower, self.upper)
        bound = np.abs(np.asarray(max_step_rad, dtype=np.float64))
        return _Box(np.maximum(self.lower, start - bound), np.minimum(self.upper, start + bound))

    def _error(self, target: Pose, joints: NDArray[np.float64],
               position_only: bool) -> NDArray[np.float64]:
        """(6,) or (3,) pose error in base axes: position, then rotation vector."""
        pose = self.frame_pose(joints)
        position_error = target.position_m - pose.position_m
        if position_only:
            return position_error
        rotation_error = matrix_to_axis_angle(target.rotation @ pose.rotation.T)
        return np.concatenate([position_error, rotation_error])

    def _converged(self, error: NDArray[np.float64]) -> bool:
        settings = self._settings
        return bool(np.linalg.norm(error[:3]) < settings.tolerance_m
                    and np.linalg.norm(error[3:]) < settings.tolerance_rad)

    def _damping_squared(self, error: NDArray[np.float64]) -> float:
        """The error's squared norm, capped at ``damping ** 2`` (Sugihara's rule).

        Large errors (far or unreachable targets) get the full damping, so steps stay short
        near singularities; small ones get little, so the last iterations converge
        quadratically even close to a singularity.
        """
        return min(self._settings.damping ** 2, float(error @ error)) + _MIN_DAMPING_SQUARED

    def _boxed_step(self, jacobian: NDArray[np.float64], error: NDArray[np.float64],
                    joints: NDArray[np.float64], box: _Box, pull: NDArray[np.float64] | None,
                    ) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """A damped step; joints at the box pushing outwards leave the problem (an active set).

        Returns:
            The step, and which joints the box holds back (at it, or to be clipped onto it).
        """
        free = np.ones(len(joints), dtype=bool)
        for _ in range(len(joints)):
            masked = jacobian * free
            damped = masked @ masked.T + self._damping_squared(error) * np.eye(len(error))
            step = masked.T @ np.linalg.solve(damped, error)
            if pull is not None:
                projector = np.eye(len(joints)) - np.linalg.pinv(masked, rcond=1e-6) @ masked
                step = step + projector @ (pull * free)
            largest = float(np.max(np.abs(step)))
            if largest > self._settings.max_iteration_step_rad:
                step *= self._settings.max_iteration_step_rad / largest
            pushing = free & (((joints >= box.upper) & (step > 0))
                              | ((joints <= box.lower) & (step < 0)))
            if not pushing.any():
                break
            free &= ~pushing
        overshooting = (joints + step > box.upper) | (joints + step < box.lower)
        return step, ~free | overshooting

    def _result(self, target: Pose, joints: NDArray[np.float64], position_only: bool,
                clamped_joints: int) -> IkResult:
        error = self._error(target, joints, position_only)
        rows = 3 if position_only else 6
        singular_values = np.linalg.svd(self.jacobian(joints)[:rows], compute_uv=False)
        position_error_m = float(np.linalg.norm(error[:3]))
        rotation_error_rad = float(np.linalg.norm(error[3:]))
        settings = self._settings
        reached = (position_error_m <= settings.reach_tolerance_m
                   and rotation_error_rad <= settings.reach_tolerance_rad)
        return IkResult(joint_positions=joints, position_error_m=position_error_m,
                        rotation_error_rad=rotation_error_rad, reached=reached,
                        clamped_joints=clamped_joints,
                        min_singular_value=float(singular_values[-1]))


def _load_model(pinocchio: Any, urdf_path: Path) -> Any:
    if not urdf_path.is_file():
        raise ConfigError(f'URDF {str(urdf_path)!r} does not exist')
    try:
        return pinocchio.buildModelFromUrdf(str(urdf_path))
    except (RuntimeError, ValueError) as err:
        raise ConfigError(f'URDF {str(urdf_path)!r} cannot be parsed: {err}') from err
