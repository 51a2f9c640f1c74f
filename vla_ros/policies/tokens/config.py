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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import enum
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.normalization import QuantileStats
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.tokens.action_tokenizer import BinLayout

__all__ = [
    'ActionSpace', 'CONFIG_FILENAME', 'SCHEMA_VERSION', 'TokenNormalization',
    'TokensPolicyConfig', 'parse_fields', 'read_config_json', 'spec_from_json', 'spec_to_json',
]

CONFIG_FILENAME = 'vla_ros_policy.json'
SCHEMA_VERSION = 1


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
class TokensPolicyConfig:
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
            if not _is_int(value) or value < 2:
                raise ConfigError(f'{key}: {value!r}, expected an integer >= 2')
        if not isinstance(self.layout, BinLayout):
            raise ConfigError(f'layout: {self.layout!r}, expected a BinLayout')

    def to_json(self) -> dict[str, Any]:
        """Return the mapping written to ``vla_ros_policy.json``."""
        return {'schema_version': SCHEMA_VERSION, 'family': 'tokens',
                'spec': spec_to_json(self.spec), 'normalization': self.normalization.to_json(),
                'n_bins': self.n_bins, 'layout': self.layout.value,
                'state_bins': self.state_bins}

    @classmethod
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

    def save(self, checkpoint_dir: Path) -> Path:
        """Write ``vla_ros_policy.json`` into ``checkpoint_dir``; returns its path."""
        path = Path(checkpoint_dir) / CONFIG_FILENAME
        path.write_text(json.dumps(self.to_json(), indent=2) + '\n')
        return path

    @classmethod
    def load(cls, checkpoint_dir: Path) -> TokensPolicyConfig:
        """Read and validate ``vla_ros_policy.json`` from ``checkpoint_dir``.

        Raises:
            ConfigError: the file is missing, not JSON, or holds an invalid field.
        """
        path = Path(checkpoint_dir) / CONFIG_FILENAME
        try:
            return cls.from_json(read_config_json(path))
        except ConfigError as err:
            raise ConfigError(f'{path}: {err}') from err


def read_config_json(path: Path) -> Any:
    """The parsed content of ``path``; ConfigError when it is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f'cannot read the policy config ({err.strerror}); every token '
                          'checkpoint needs one') from err
    except json.JSONDecodeError as err:
        raise ConfigError(f'not valid JSON: {err}') from err


def check_header(fields: Any, family: str) -> None:
    """Raise ConfigError unless ``schema_version`` and ``family`` are this module's.

    Runs before the other keys are checked, so a checkpoint of another family is named as such.
    """
    others = frozenset(fields) if isinstance(fields, Mapping) else frozenset()
    fields = parse_fields(fields, '', required={'schema_version', 'family'}, optional=others)
    if fields['schema_version'] != SCHEMA_VERSION:
        raise ConfigError(
            f'schema_version: {fields["schema_version"]!r}, expected {SCHEMA_VERSION}')
    if fields['family'] != family:
        raise ConfigError(f'family: {fields["family"]!r}, expected {family!r}; load it with '
                          f'policy.family {fields["family"]!r}')


def parse_fields(raw: Any, where: str, *, required: set[str],
                 optional: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Check that ``raw`` is a mapping with exactly the allowed keys; return a copy.

    Raises:
        ConfigError: not a mapping, an unknown key, or a missing required key.
    """
    label = where or 'top level'
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{label}: expected a mapping, got {raw!r}')
    unknown = sorted(set(raw) - required - optional)
    if unknown:
        raise ConfigError(
            f'{label}: unknown keys {unknown!r}; allowed {sorted(required | optional)!r}')
    missing = sorted(required - set(raw))
    if missing:
        raise ConfigError(f'{where + "." if where else ""}{missing[0]}: missing required key')
    return dict(raw)


def spec_to_json(spec: PolicySpec) -> dict[str, Any]:
    """Return the JSON mapping of ``spec``."""
    return {'joint_names': list(spec.joint_names), 'camera_names': list(spec.camera_names),
            'image_height': spec.image_height, 'image_width': spec.image_width,
            'chunk_length': spec.chunk_length, 'dt_s': spec.dt_s}


def spec_from_json(raw: Any, where: str = 'spec') -> PolicySpec:
    """Build a checked ``PolicySpec`` from its JSON mapping.

    Raises:
        ConfigError: a missing, unknown or invalid field, named ``<where>.<field>``.
    """
    fields = parse_fields(raw, where, required={
        'joint_names', 'camera_names', 'image_height', 'image_width', 'chunk_length', 'dt_s'})
    for key in ('joint_names', 'camera_names'):
        names = fields[key]
        if isinstance(names, str) or not isinstance(names, Sequence) or not all(
                isinstance(name, str) and name for name in names):
            raise ConfigError(f'{where}.{key}: {names!r}, expected a list of names')
    dt_s = fields['dt_s']
    if isinstance(dt_s, bool) or not isinstance(dt_s, int | float):
        raise ConfigError(f'{where}.dt_s: {dt_s!r}, expected a number of seconds > 0')
    spec = PolicySpec(joint_names=tuple(fields['joint_names']),
                      camera_names=tuple(fields['camera_names']),
                      image_height=fields['image_height'], image_width=fields['image_width'],
                      chunk_length=fields['chunk_length'], dt_s=float(dt_s))
    check_spec(spec, where)
    return spec


def check_spec(spec: PolicySpec, where: str = 'spec') -> None:
    """Raise ConfigError unless names are unique and non-empty and sizes and dt_s positive."""
    for key in ('joint_names', 'camera_names'):
        names = getattr(spec, key)
        if not names or len(set(names)) != len(names):
            raise ConfigError(f'{where}.{key}: {list(names)!r}, expected unique names, at '
                              'least one')
    for key in ('image_height', 'image_width', 'chunk_length'):
        value = getattr(spec, key)
        if not _is_int(value) or value < 1:
            raise ConfigError(f'{where}.{key}: {value!r}, expected an integer >= 1')
    if not (math.isfinite(spec.dt_s) and spec.dt_s > 0.0):
        raise ConfigError(f'{where}.dt_s: {spec.dt_s!r}, expected a finite number > 0')


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positions(joint_positions: ArrayLike, dim: int) -> NDArray[np.float64]:
    positions = np.asarray(joint_positions, dtype=np.float64)
    if positions.shape != (dim,) or not np.all(np.isfinite(positions)):
        raise InputError(f'joint positions: {positions!r}, expected {dim} finite values')
    return positions
