# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Per-joint action semantics: a policy's chunk (absolute, delta, normalized gripper) -> targets.

The embodiment config declares, per joint, what the policy's value means (``embodiment.commands``;
unlisted joints are absolute positions):

- ``absolute``: the target position itself, rad (m for prismatic joints);
- ``delta``: an offset from the position measured with the observation the chunk came from;
  every step of the chunk is relative to that one measurement (openpi's delta actions), not to
  the previous step;
- ``normalized_gripper``: 0 means ``closed_position`` and 1 ``open_position``, linear in between;
  values outside [0, 1] are clipped to it. Such a policy also sees its gripper state normalized
  the same way, so state and action share one scale.

``JointSemanticsPolicy`` wraps a loaded policy so that everything downstream (the runner, the
trajectory planner, the limits) only ever sees absolute joint targets.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.config import CommandKind, JointCommandConfig
from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import ActionChunk, Observation

if TYPE_CHECKING:
    from vla_ros.core.policy import Policy, PolicySpec

__all__ = ['JointSemantics', 'JointSemanticsPolicy', 'wrap_policy']


class JointSemantics:
    """Converts between a policy's per-joint value space and absolute joint positions.

    Args:
        joint_names: the policy's joints, the column order of every array.
        commands: the declared semantics; joints not listed are absolute.

    Raises:
        ConfigError: a command names a joint outside ``joint_names``.
    """

    def __init__(self, joint_names: Sequence[str], commands: Sequence[JointCommandConfig]) -> None:
        index = {name: i for i, name in enumerate(joint_names)}
        unknown = [command.joint for command in commands if command.joint not in index]
        if unknown:
            raise ConfigError(f'embodiment.commands: joints {unknown!r} are not driven by the '
                              f'policy; it drives {list(joint_names)!r}')
        width = len(joint_names)
        self._delta = np.zeros(width, dtype=bool)
        self._gripper = np.zeros(width, dtype=bool)
        self._closed = np.zeros(width)
        self._span = np.ones(width)  # open - closed; 1 where unused
        for command in commands:
            column = index[command.joint]
            if command.kind is CommandKind.DELTA:
                self._delta[column] = True
            elif command.kind is CommandKind.NORMALIZED_GRIPPER:
                assert command.closed_position is not None and command.open_position is not None
                self._gripper[column] = True
                self._closed[column] = command.closed_position
                self._span[column] = command.open_position - command.closed_position

    @property
    def is_absolute(self) -> bool:
        """True when every joint is absolute, so both conversions are the identity."""
        return not (self._delta.any() or self._gripper.any())

    def to_policy_state(self, measured: NDArray[np.float64]) -> NDArray[np.float64]:
        """Measured (J,) positions as the policy sees them: normalized gripper columns in [0, 1].

        Delta and absolute joints see their absolute measured position.
        """
        normalized = (measured - self._closed) / self._span
        return np.where(self._gripper, normalized, measured)

    def to_absolute(self, values: NDArray[np.float64],
                    measured: NDArray[np.float64]) -> NDArray[np.float64]:
        """A (T, J) chunk of policy values -> (T, J) absolute targets, rad (m).

        Args:
            values: the policy's output, one row per time step.
            measured: (J,) positions measured with the observation the chunk came from.
        """
        opening = self._closed + np.clip(values, 0.0, 1.0) * self._span
        targets = np.where(self._delta, measured + values, values)
        return np.asarray(np.where(self._gripper, opening, targets), dtype=np.float64)


class JointSemanticsPolicy:
    """A Policy whose chunks are absolute targets, around one that speaks declared semantics.

    Args:
        policy: the loaded policy, whose values follow ``commands``.
        commands: the embodiment's per-joint semantics.

    Raises:
        ConfigError: a command names a joint the policy does not drive.
    """

    def __init__(self, policy: Policy, commands: Sequence[JointCommandConfig]) -> None:
        self._policy = policy
        self._semantics = JointSemantics(policy.spec.joint_names, commands)

    @property
    def spec(self) -> PolicySpec:
        """The wrapped policy's contract (the joints are the same; only values differ)."""
        return self._policy.spec

    def infer(self, observation: Observation) -> ActionChunk:
        """Infer with the policy's view of the state; return absolute joint targets.

        Raises:
            InputError: the observation lacks a policy joint (or the policy refuses it).
            PolicyOutputError: the policy's chunk has other joints than its spec.
        """
        joints = self._policy.spec.joint_names
        measured = observation.positions_for(joints)
        seen = dataclasses.replace(observation, joint_names=joints,
                                   joint_positions=self._semantics.to_policy_state(measured))
        chunk = self._policy.infer(seen)
        if chunk.joint_names != joints:
            raise PolicyOutputError(f'policy returned joints {chunk.joint_names!r}, '
                                    f'expected {joints!r}')
        return ActionChunk(joints, self._semantics.to_absolute(chunk.positions, measured),
                           chunk.dt_s)


def wrap_policy(policy: Policy, commands: Sequence[JointCommandConfig]) -> Policy:
    """``policy`` itself when every joint is absolute, else a ``JointSemanticsPolicy``.

    Raises:
        ConfigError: a command names a joint the policy does not drive.
    """
    if JointSemantics(policy.spec.joint_names, commands).is_absolute:
        return policy
    return JointSemanticsPolicy(policy, commands)
