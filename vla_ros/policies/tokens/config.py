# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a token checkpoint stores next to its transformers files: ``vla_ros_policy.json``.

Both token families (``tokens``: one bin token per dimension and step; ``fast``: FAST tokens)
share the policy contract (``PolicySpec``) and ``TokenNormalization``: q01/q99 statistics of
the state and of the actions (each with its optional mask of raw dimensions) and the action
space, absolute joint targets or targets relative to the observed joint positions (openpi's
``DeltaActions``). This module holds those shared parts and the ``tokens`` family's config;
``vla_ros.policies.fast.config`` builds on it. Every field is checked on load and messages name
the field path. numpy only: this module imports neither torch nor transformers.
"""

from __future__ import annotations

from dataclasses import dataclass
import enum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from typing_extensions import override

from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.normalization import QuantileStats
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.checkpoint_json import (
    check_header,
    check_spec,
    CONFIG_FILENAME,
    ConfigFile,
    is_int,
    parse_fields,
    SCHEMA_VERSION,
    spec_from_json,
    spec_to_json,
)
from vla_ros.policies.tokens.action_tokenizer import BinLayout

__all__ = ['ActionSpace', 'CONFIG_FILENAME', 'TokenNormalization', 'TokensPolicyConfig']


class ActionSpace(enum.Enum):
    """What a chunk row holds in the model's space, before unnormalization."""

    #: Absolute joint targets, rad (m for prismatic joints).
    ABSOLUTE = 'absolute'
    #: Targets minus the joint positions of the observation the chunk was computed from.
    DELTA = 'delta'


@dataclass(frozen=True, slots=True)
class TokenNormalization:
    """How state and actions map to and from the model's [-1, 1] space.

    Attributes:
        state: q01/q99 of the observed joint positions (J,), robot units.
        actions: q01/q99 of the chunk rows (J,) in ``action_space``, robot units.
        action_space: absolute targets, or targets relative to the observed positions.
    """

    state: QuantileStats
    actions: QuantileStats
    action_space: ActionSpace = ActionSpace.ABSOLUTE

    def normalize_actions(self, actions: ArrayLike,
                          joint_positions: ArrayLike) -> NDArray[np.float64]:
        """Map absolute targets (T, J) to the model's space, given the observed positions (J,).

        Raises:
            InputError: a wrong width, NaN or Inf.
        """
        targets = np.asarray(actions, dtype=np.float64)
        if self.action_space is ActionSpace.DELTA:
            targets = targets - _positions(joint_positions, self.state.dim)
        return self.actions.normalize(targets)

    def unnormalize_actions(self, normalized: ArrayLike,
                            joint_positions: ArrayLike) -> NDArray[np.float64]:
        """Map model-space rows (T, J) back to absolute targets, given the observed positions.

        Raises:
            PolicyOutputError: a wrong width, NaN or Inf in ``normalized``.
        """
        targets = self.actions.unnormalize(normalized)
        if self.action_space is ActionSpace.DELTA:
            targets = targets + _positions(joint_positions, self.state.dim)
        return targets

    def to_json(self) -> dict[str, Any]:
        """Return the JSON mapping: ``state``, ``actions`` and ``action_space``."""
        return {'action_space': self.action_space.value, 'state': self.state.to_json(),
                'actions': self.actions.to_json()}

    @classmethod
    def from_json(cls, raw: Any, where: str = 'normalization') -> TokenNormalization:
        """Build from a JSON mapping; ``where`` prefixes the field path in error messages.

        Raises:
            ConfigError: a missing, unknown or invalid field.
        """
        fields = parse_fields(raw, where, required={'state', 'actions', 'action_space'})
        space = fields['action_space']
        if space not in {member.value for member in ActionSpace}:
            raise ConfigError(f'{where}.action_space: {space!r}, expected one of '
                              f'{[member.value for member in ActionSpace]}')
        return cls(state=QuantileStats.from_json(fields['state'], f'{where}.state'),
                   actions=QuantileStats.from_json(fields['actions'], f'{where}.actions'),
                   action_space=ActionSpace(space))

    def check_width(self, n_joints: int, where: str = 'normalization') -> None:
        """Raise ConfigError unless both statistics have one entry per joint."""
        for key in ('state', 'actions'):
            dim = getattr(self, key).dim
            if dim != n_joints:
                raise ConfigError(
                    f'{where}.{key}: {dim} dimensions, expected {n_joints} (one per joint)')


@dataclass(frozen=True, slots=True)
class TokensPolicyConfig(ConfigFile):
    """Everything vla_ros needs about a ``tokens`` checkpoint besides the transformers files.

    Attributes:
        spec: the policy's input and output contract.
        normalization: statistics and action space, one entry per joint of ``spec``.
        n_bins: action tokens, the last ``n_bins`` ids of the language model's vocabulary.
        layout: how [-1, 1] is cut into the bins.
        state_bins: bins of the normalized state written into the prompt.
    """

    spec: PolicySpec
    normalization: TokenNormalization
    n_bins: int = 256
    layout: BinLayout = BinLayout.UNIFORM
    state_bins: int = 256

    def __post_init__(self) -> None:
        check_spec(self.spec)
        self.normalization.check_width(len(self.spec.joint_names))
        for key in ('n_bins', 'state_bins'):
            value = getattr(self, key)
            if not is_int(value) or value < 2:
                raise ConfigError(f'{key}: {value!r}, expected an integer >= 2')
        if not isinstance(self.layout, BinLayout):
            raise ConfigError(f'layout: {self.layout!r}, expected a BinLayout')

    @override
    def to_json(self) -> dict[str, Any]:
        """Return the mapping written to ``vla_ros_policy.json``."""
        return {'schema_version': SCHEMA_VERSION, 'family': 'tokens',
                'spec': spec_to_json(self.spec), 'normalization': self.normalization.to_json(),
                'n_bins': self.n_bins, 'layout': self.layout.value,
                'state_bins': self.state_bins}

    @classmethod
    @override
    def from_json(cls, raw: Any) -> TokensPolicyConfig:
        """Build and validate from the parsed JSON mapping.

        Raises:
            ConfigError: a missing, unknown or invalid field; the message gives its path.
        """
        check_header(raw, 'tokens')
        fields = parse_fields(raw, '', required={
            'schema_version', 'family', 'spec', 'normalization', 'n_bins', 'layout',
            'state_bins'})
        if fields['layout'] not in {member.value for member in BinLayout}:
            raise ConfigError(f'layout: {fields["layout"]!r}, expected one of '
                              f'{[member.value for member in BinLayout]}')
        return cls(spec=spec_from_json(fields['spec']),
                   normalization=TokenNormalization.from_json(fields['normalization']),
                   n_bins=fields['n_bins'], layout=BinLayout(fields['layout']),
                   state_bins=fields['state_bins'])


def _positions(joint_positions: ArrayLike, dim: int) -> NDArray[np.float64]:
    positions = np.asarray(joint_positions, dtype=np.float64)
    if positions.shape != (dim,) or not np.all(np.isfinite(positions)):
        raise InputError(f'joint positions: {positions!r}, expected {dim} finite values')
    return positions
