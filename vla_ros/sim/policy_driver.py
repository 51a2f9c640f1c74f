# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A policy driving the simulated robot in process, for DAgger's relabelled demonstrations.

``PolicyDriver`` hands out one row of the policy's action chunk per policy step and infers a new
chunk every ``horizon`` steps from that step's observation: what the sync strategy executes
through ROS, without the network. The recorders (``demonstrations.record_episode``,
``humanoid_demonstrations.record_hand_reach_episode``) execute its rows while the scripted
expert labels each visited state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.core.types import Observation

if TYPE_CHECKING:
    from vla_ros.core.policy import Policy

__all__ = ['PolicyDriver']


class PolicyDriver:
    """Rows of ``policy``'s chunks for ``joint_names``, a new chunk every ``horizon`` steps.

    Args:
        policy: the driving policy; it must output exactly ``joint_names`` (any order).
        joint_names: the columns the recorder executes, in its order.
        camera_names: the cameras the recorder renders; the policy may read only these.
        horizon: rows executed per chunk; None: the whole chunk.

    Raises:
        ConfigError: a policy with other joints, a camera the recorder does not render, or a
            horizon below 1.
    """

    def __init__(self, policy: Policy, joint_names: Sequence[str], camera_names: Sequence[str],
                 horizon: int | None) -> None:
        if horizon is not None and horizon < 1:
            raise ConfigError(f'driver policy: horizon {horizon}, expected >= 1')
        spec = policy.spec
        if sorted(spec.joint_names) != sorted(joint_names):
            raise ConfigError(f'driver policy: the driver outputs {list(spec.joint_names)!r}, '
                              f'expected the recorded joints {list(joint_names)!r}')
        unknown = sorted(set(spec.camera_names) - set(camera_names))
        if unknown:
            raise ConfigError(f'driver policy: the driver reads cameras {unknown!r} that the '
                              f'recorder does not render ({list(camera_names)!r})')
        self._policy = policy
        self._joint_names = tuple(joint_names)
        self._horizon = horizon
        self._chunk: NDArray[np.float64] | None = None
        self._row = 0
        self.inferences = 0

    def reset(self) -> None:
        """Forget the chunk in flight: the next ``targets`` infers (a new episode)."""
        self._chunk, self._row = None, 0

    def targets(self, images: Mapping[str, NDArray[np.uint8]],
                joint_positions: NDArray[np.float64], instruction: str) -> NDArray[np.float64]:
        """The targets (J,) for the end of this step, inferring from this observation if due."""
        if self._chunk is None or self._row >= (self._horizon or len(self._chunk)):
            chunk = self._policy.infer(Observation(
                images=dict(images), joint_names=self._joint_names,
                joint_positions=joint_positions, instruction=instruction))
            order = [chunk.joint_names.index(name) for name in self._joint_names]
            self._chunk, self._row = chunk.positions[:, order], 0
            self.inferences += 1
        row = self._chunk[min(self._row, len(self._chunk) - 1)]
        self._row += 1
        return np.array(row, dtype=np.float64)
