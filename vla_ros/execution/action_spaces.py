# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Raw action chunks in any declared action space -> absolute joint targets.

``ActionSpaceConverter`` takes a policy's raw chunk (T, D), D the width of the
``action_space`` declaration, and the measured joints, and returns (T, J) absolute joint
targets in the order of ``ActionSpaceConfig.joint_names``, row k due (k + 1) * dt_s after the
observation, as ``ActionChunk`` holds them:

- joint positions pass through; joint deltas are added to the measured joints (or chained
  row by row); joint velocities are integrated, ``q[k] = q[k - 1] + v[k] * dt_s``, from the
  measured joints;
- the gripper's normalised command maps linearly onto its joint (``GripperMapping``);
- end-effector blocks go through inverse kinematics (``ee_actions``).

Every target ends inside the URDF position limits; each value a limit changed is counted in
the ``ConversionReport``, with the end-effector rows the IK could not reach, so the node can
report corrections in /vla/status instead of silently moving elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.action_space_config import (
    ActionGroup,
    ActionSpace,
    ActionSpaceConfig,
    DeltaReference,
    GripperGroup,
    IkBackend,
    JointGroup,
)
from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError
from vla_ros.execution.conversion_report import ConversionReport
from vla_ros.execution.ee_actions import EndEffectorConverter
from vla_ros.execution.joint_limits import JointLimits, load_urdf_limits
from vla_ros.execution.kinematics import ArmKinematics, IkSettings, IkSolver

__all__ = ['ActionSpaceConverter', 'ConvertedChunk', 'GripperMapping', 'JointConverter',
           'integrate_velocities']


@dataclass(frozen=True, slots=True)
class ConvertedChunk:
    """Absolute joint targets and what the conversion had to change.

    Attributes:
        joint_names: the columns of ``positions``.
        positions: (T, J) float64 absolute targets, rad (m), inside the URDF limits.
        report: corrections and IK misses.
    """

    joint_names: tuple[str, ...]
    positions: NDArray[np.float64]
    report: ConversionReport


class GroupConverter(Protocol):
    """Converts one declaration's columns to its joints' absolute targets."""

    def convert(self, columns: NDArray[np.float64], measured: NDArray[np.float64],
                dt_s: float) -> tuple[NDArray[np.float64], ConversionReport]:
        """(T, width) columns and (n,) measured joints -> (T, n) targets and a report."""
        ...


def _clip(values: NDArray[np.float64], lower: NDArray[np.float64],
          upper: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
    clipped = np.clip(values, lower, upper)
    return clipped, int(np.count_nonzero(clipped != values))


def integrate_velocities(velocities: NDArray[np.float64], start: NDArray[np.float64],
                         dt_s: float, limits: JointLimits) -> tuple[NDArray[np.float64], int]:
    """Positions (T, n) of ``q[k] = clip(q[k - 1] + v[k] * dt_s)`` from ``start`` (n,).

    A joint at a limit stays there (it does not bank the excess), as the robot would.

    Returns:
        The positions and how many of them a limit changed.
    """
    return _chain(velocities * dt_s, start, limits)


def _chain(steps: NDArray[np.float64], start: NDArray[np.float64],
           limits: JointLimits) -> tuple[NDArray[np.float64], int]:
    positions = np.empty_like(steps)
    previous, clamped = np.asarray(start, dtype=np.float64), 0
    for row, step in enumerate(steps):
        previous, changed = _clip(previous + step, limits.lower, limits.upper)
        positions[row] = previous
        clamped += changed
    return positions, clamped


class JointConverter:
    """Joint-space block: absolute positions, deltas or velocities."""

    def __init__(self, group: JointGroup, limits: JointLimits) -> None:
        self._group = group
        self._limits = limits.subset(group.joints)

    def convert(self, columns: NDArray[np.float64], measured: NDArray[np.float64],
                dt_s: float) -> tuple[NDArray[np.float64], ConversionReport]:
        """(T, n) joint targets within the limits, and how many values the limits changed."""
        group, limits = self._group, self._limits
        if group.space is ActionSpace.JOINT_VELOCITY:
            positions, clamped = integrate_velocities(columns, measured, dt_s, limits)
        elif group.space is ActionSpace.JOINT_DELTA and \
                group.delta_reference is DeltaReference.PREVIOUS_ROW:
            positions, clamped = _chain(columns, measured, limits)
        else:
            offset = measured if group.space is ActionSpace.JOINT_DELTA else 0.0
            positions, clamped = _clip(columns + offset, limits.lower, limits.upper)
        return positions, ConversionReport(clamped_values=clamped)


@dataclass(frozen=True, slots=True)
class GripperMapping:
    """Linear map between a normalised gripper command and the gripper joint's position."""

    closed_position: float
    open_position: float
    normalised_closed: float = 0.0
    normalised_open: float = 1.0

    @classmethod
    def from_group(cls, group: GripperGroup, limits: JointLimits) -> GripperMapping:
        """The mapping of ``group``; unset positions are the URDF's lower and upper limit.

        Raises:
            ConfigError: a configured position outside the joint's URDF limits.
        """
        joint = limits.subset([group.joint])
        lower, upper = float(joint.lower[0]), float(joint.upper[0])
        closed = lower if group.closed_position is None else group.closed_position
        opened = upper if group.open_position is None else group.open_position
        for name, value in (('closed_position', closed), ('open_position', opened)):
            if not lower <= value <= upper:
                raise ConfigError(f'action_space.{group.controller}.{name}: {value!r} is outside '
                                  f'the URDF limits [{lower}, {upper}] of {group.joint!r}')
        return cls(closed, opened, group.normalised_closed, group.normalised_open)

    def to_positions(self, normalised: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
        """Joint positions of ``normalised`` commands, clipped to the normalised range first.

        Returns:
            The positions and how many commands lay outside the normalised range.
        """
        low, high = sorted((self.normalised_closed, self.normalised_open))
        clipped = np.clip(normalised, low, high)
        fraction = (clipped - self.normalised_closed) / (
            self.normalised_open - self.normalised_closed)
        positions = self.closed_position + fraction * (self.open_position - self.closed_position)
        return positions, int(np.count_nonzero(clipped != normalised))

    def to_normalised(self, positions: NDArray[np.float64]) -> NDArray[np.float64]:
        """The normalised commands that map to joint ``positions`` (for recording data)."""
        fraction = (np.asarray(positions, dtype=np.float64) - self.closed_position) / (
            self.open_position - self.closed_position)
        return self.normalised_closed + fraction * (self.normalised_open - self.normalised_closed)


class _GripperConverter:
    def __init__(self, group: GripperGroup, limits: JointLimits) -> None:
        self._mapping = GripperMapping.from_group(group, limits)

    def convert(self, columns: NDArray[np.float64], measured: NDArray[np.float64],
                dt_s: float) -> tuple[NDArray[np.float64], ConversionReport]:
        positions, clamped = self._mapping.to_positions(columns)
        return positions, ConversionReport(clamped_values=clamped)


class ActionSpaceConverter:
    """Converts raw chunks of an ``ActionSpaceConfig`` to absolute joint targets.

    Args:
        config: the declaration of the action row.
        urdf_path: the robot's URDF: limits, and kinematics for end-effector blocks.
        ik_solvers: controller -> an IK solver to use instead of Pinocchio's (needed for
            ``ik: moveit``; see ``vla_ros.ros.moveit_ik``).
        ik_settings: tuning of the Pinocchio IK.
        max_step_rad: largest joint change per end-effector row on top of the URDF velocity
            limits (pass the config's ``safety.max_step_rad``); None: the velocity limits only.

    Raises:
        ConfigError: a joint or frame not in the URDF, a gripper range outside the limits, or
            ``ik: moveit`` without a solver.
    """

    def __init__(self, config: ActionSpaceConfig, *, urdf_path: Path,
                 ik_solvers: Mapping[str, IkSolver] | None = None,
                 ik_settings: IkSettings | None = None,
                 max_step_rad: float | None = None) -> None:
        self._config = config
        self._urdf_path = urdf_path
        self._ik_solvers = dict(ik_solvers or {})
        self._ik_settings = ik_settings
        self._max_step_rad = max_step_rad
        limits = load_urdf_limits(urdf_path)
        self._converters = [self._make(group, limits) for group in config.groups]

    def _make(self, group: ActionGroup, limits: JointLimits) -> GroupConverter:
        if isinstance(group, JointGroup):
            return JointConverter(group, limits)
        if isinstance(group, GripperGroup):
            return _GripperConverter(group, limits)
        kinematics = ArmKinematics(self._urdf_path, group.joints, group.frame,
                                   settings=self._ik_settings)
        solver = self._ik_solvers.get(group.controller)
        if solver is None and group.ik_backend is IkBackend.MOVEIT:
            raise ConfigError(
                f'action_space.{group.controller}.ik: moveit needs a MoveIt IK solver '
                '(vla_ros.ros.moveit_ik.MoveItIkSolver); none was given')
        return EndEffectorConverter(group, kinematics, limits.subset(group.joints), solver,
                                    max_step_rad=self._max_step_rad)

    @property
    def config(self) -> ActionSpaceConfig:
        """The declaration."""
        return self._config

    @property
    def joint_names(self) -> tuple[str, ...]:
        """The joints of the converted chunks, in column order."""
        return self._config.joint_names

    def convert(self, raw_actions: NDArray[np.float64], measured: NDArray[np.float64], *,
                dt_s: float) -> ConvertedChunk:
        """Absolute joint targets for the raw chunk ``raw_actions``.

        Args:
            raw_actions: (T, D) the policy's rows, D = ``config.width``.
            measured: (J,) measured positions of ``joint_names``, rad (m).
            dt_s: time between rows, seconds (velocities integrate over it).

        Raises:
            PolicyOutputError: the chunk has the wrong shape or a NaN or Inf.
        """
        raw = np.asarray(raw_actions, dtype=np.float64)
        width = self._config.width
        if raw.ndim != 2 or raw.shape[1] != width or not len(raw):
            raise PolicyOutputError(f'raw action chunk: shape {raw.shape!r}, expected '
                                    f'(T >= 1, {width}) for the declared action space')
        if not np.all(np.isfinite(raw)):
            raise PolicyOutputError('raw action chunk: contains NaN or Inf')
        measured = np.asarray(measured, dtype=np.float64)
        if measured.shape != (len(self.joint_names),) or not np.all(np.isfinite(measured)):
            raise InputError(f'measured joints: {measured!r}, expected {len(self.joint_names)} '
                             f'finite values for {list(self.joint_names)!r}')
        positions = np.empty((len(raw), len(self.joint_names)))
        report = ConversionReport()
        column = joint = 0
        for group, converter in zip(self._config.groups, self._converters):
            columns = raw[:, column:column + group.width]
            joints = slice(joint, joint + len(group.joints))
            targets, group_report = converter.convert(columns, measured[joints], dt_s)
            positions[:, joints] = targets
            report = report.merged(group_report)
            column, joint = column + group.width, joints.stop
        return ConvertedChunk(self.joint_names, positions, report)

