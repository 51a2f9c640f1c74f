# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a flow checkpoint stores next to its Hugging Face weights: ``vla_ros_policy.json``.

The file holds the policy's contract (``PolicySpec``), the number of denoising steps, the seed of
the sampling noise and the normalization statistics of state and actions. It is the one source
of truth for those values; the ``processor_config.json`` that transformers writes carries no
statistics. Everything is checked on load and messages name the field path. numpy only: this
module imports neither torch nor transformers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from typing_extensions import override

from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import NormMode, ZScoreStats
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

__all__ = [
    'CONFIG_FILENAME', 'FeatureStats', 'FlowPolicyConfig', 'NORM_EPS',
    'Normalization', 'POINTED_SLOTS', 'PointedState', 'SCHEMA_VERSION',
]

#: State slots each pointed (x, y) fills; the first starts right after the state joints.
POINTED_SLOTS = 2

#: Where the pointing head may read the VLM (``vla_ros.policies.flow.pointing.READOUTS``;
#: repeated here because this module imports no torch).
_READOUTS = ('output', 'attended')

#: Added to the standard deviation, as transformers' ``PI0Processor`` does, so the two agree.
NORM_EPS = 1e-8


#: The spelling of each normalisation mode in a flow file; only z-scores are implemented
#: (``FeatureStats`` already carries q01 and q99 for quantiles, as pi0.5 uses).
_MODE_NAMES = {NormMode.ZSCORE: 'mean_std'}


@dataclass(frozen=True, slots=True)
class FeatureStats:
    """Per-dimension statistics of one feature (state or actions), in robot units.

    What a flow file stores (mean and std, with q01 and q99 when the data gave them); the
    mapping itself is ``vla_ros.core.normalization.ZScoreStats`` (``zscore``), the one every
    z-scoring family uses.

    Attributes:
        mean: (J,) mean, rad (m for prismatic joints).
        std: (J,) standard deviation, same units, > 0.
        q01: (J,) 1st percentile, or None; stored for quantile normalization, unused today.
        q99: (J,) 99th percentile, or None; as ``q01``.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    q01: tuple[float, ...] | None = None
    q99: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for key in ('mean', 'std', 'q01', 'q99'):
            values = getattr(self, key)
            if values is None:
                continue
            try:
                object.__setattr__(self, key, tuple(float(value) for value in values))
            except (TypeError, ValueError) as err:
                raise ConfigError(f'FeatureStats.{key}: {values!r}, expected numbers') from err

    @property
    def zscore(self) -> ZScoreStats:
        """The z-score mapping of these statistics (``eps`` = ``NORM_EPS``, as PI0Processor)."""
        return ZScoreStats(mean=self.mean, std=self.std, eps=NORM_EPS)

    def normalize(self, values: NDArray[np.floating]) -> NDArray[np.float64]:
        """Map robot-unit values (..., J) to z-scores (``ZScoreStats.normalize``).

        Raises:
            InputError: the last axis is not J wide, or a value is NaN or Inf.
        """
        return self.zscore.normalize(values)

    def unnormalize(self, values: NDArray[np.floating]) -> NDArray[np.float64]:
        """Map z-scores (..., J) back to robot units; the inverse of ``normalize``.

        Raises:
            PolicyOutputError: the last axis is not J wide, or a value is NaN or Inf.
        """
        return self.zscore.unnormalize(values)


@dataclass(frozen=True, slots=True)
class Normalization:
    """Statistics for the model's state input and action output."""

    state: FeatureStats
    actions: FeatureStats
    mode: NormMode = NormMode.ZSCORE


@dataclass(frozen=True, slots=True)
class PointedState:
    """The pointing head whose answers the policy writes into its own state input.

    At every inference the head maps the VLM's readout of the observation (its images and
    instruction, ``readout`` picking the layer) to the named object's (x, y), normalized by
    ``mean`` and ``spread``, and that pair fills the two state slots after the joints
    (``vla-ros train --pointed-state``; ``vla_ros.policies.flow.pointing.StatePointer``).
    Each further query (``--point-at``, e.g. "the yellow square") is read with the same
    images and its own text and fills the next two slots.

    Attributes:
        readout: ``'output'`` or ``'attended'`` (``vla_ros.policies.flow.pointing``).
        weight: (2, width) the head's matrix; width is the VLM's hidden size.
        bias: (2,) the head's bias.
        mean: (2,) m, the pointing set's mean position; the head's output times ``spread``
            plus ``mean`` is the point on the table (kept with the head to read it in metres; the
            state takes the output).
        spread: (2,) m, the pointing set's standard deviation of positions, > 0.
        queries: what each pair of slots points at, in order: ``''`` the instruction (the
            named object), any other text that text.
    """

    readout: str
    weight: tuple[tuple[float, ...], tuple[float, ...]]
    bias: tuple[float, float]
    mean: tuple[float, float]
    spread: tuple[float, float]
    queries: tuple[str, ...] = ('',)

    @property
    def width(self) -> int:
        """The readout width the head takes."""
        return len(self.weight[0])

    @property
    def slots(self) -> int:
        """State columns filled: two per query."""
        return POINTED_SLOTS * len(self.queries)

    def __post_init__(self) -> None:
        where = 'pointed_state'
        if self.readout not in _READOUTS:
            raise ConfigError(f'{where}.readout: {self.readout!r}, expected one of '
                              f'{", ".join(_READOUTS)}')
        if len(self.weight) != POINTED_SLOTS or len(self.weight[0]) == 0 or (
                len(self.weight[0]) != len(self.weight[1])):
            raise ConfigError(f'{where}.weight: expected {POINTED_SLOTS} rows of equal, '
                              'non-zero length (the VLM width)')
        if not self.queries or not all(isinstance(text, str) for text in self.queries) or len(
                set(self.queries)) != len(self.queries):
            raise ConfigError(f'{where}.queries: {list(self.queries)!r}, expected distinct '
                              "texts ('' for the instruction)")
        for name in ('bias', 'mean', 'spread'):
            if len(getattr(self, name)) != POINTED_SLOTS:
                raise ConfigError(f'{where}.{name}: expected {POINTED_SLOTS} numbers')
        for name, values in (('weight[0]', self.weight[0]), ('weight[1]', self.weight[1]),
                             ('bias', self.bias), ('mean', self.mean),
                             ('spread', self.spread)):
            for index, value in enumerate(values):
                if not math.isfinite(value) or (name == 'spread' and value <= 0.0):
                    expected = 'finite and > 0' if name == 'spread' else 'finite'
                    raise ConfigError(f'{where}.{name}[{index}]: {value!r}, expected {expected}')

    def to_json(self) -> dict[str, Any]:
        """The plain mapping stored under ``pointed_state``."""
        return {'readout': self.readout, 'weight': [list(row) for row in self.weight],
                'bias': list(self.bias), 'mean': list(self.mean), 'spread': list(self.spread),
                'queries': list(self.queries)}

    @classmethod
    def from_json(cls, raw: Any) -> PointedState:
        """Parse and check the ``pointed_state`` mapping.

        Raises:
            ConfigError: a missing, unknown or invalid field.
        """
        where = 'pointed_state'
        fields = parse_fields(raw, where, required={'readout', 'weight', 'bias', 'mean',
                                                    'spread'}, optional={'queries'})
        queries = fields.get('queries', [''])
        if not isinstance(queries, Sequence) or isinstance(queries, str):
            raise ConfigError(f'{where}.queries: {queries!r}, expected a list of texts')
        rows = fields['weight']
        if not isinstance(rows, Sequence) or isinstance(rows, str) or len(rows) != POINTED_SLOTS:
            raise ConfigError(f'{where}.weight: expected {POINTED_SLOTS} rows')
        weight = tuple(_floats(row, f'{where}.weight[{index}]') for index, row in enumerate(rows))
        pairs = {name: _floats(fields[name], f'{where}.{name}')
                 for name in ('bias', 'mean', 'spread')}
        return cls(readout=fields['readout'], weight=(weight[0], weight[1]),
                   queries=tuple(queries),
                   **{name: _pair(values, f'{where}.{name}') for name, values in pairs.items()})


def _pair(values: tuple[float, ...], where: str) -> tuple[float, float]:
    if len(values) != POINTED_SLOTS:
        raise ConfigError(f'{where}: {len(values)} numbers, expected {POINTED_SLOTS}')
    return values[0], values[1]


@dataclass(frozen=True, slots=True)
class FlowPolicyConfig(ConfigFile):
    """Everything vla_ros needs about a flow checkpoint besides the transformers files.

    Attributes:
        spec: the policy's input and output contract.
        normalization: statistics of state and actions, one entry per joint of ``spec``.
        num_denoising_steps: Euler steps of the flow-matching sampler per chunk.
        noise_seed: seed of the generator that draws the sampling noise, so runs repeat.
        state_joint_names: the joints of the state input, in order, when they differ from
            the action joints (``spec.joint_names``, the default); LeRobot checkpoints may
            read more or other joints than they drive.
        joint_deltas: the chunk rows are offsets from the observed joints (trained with
            ``vla-ros train --joint-deltas``), not absolute targets; stored as
            ``"action_rows": "joint_delta"``, so the node runs such a checkpoint only behind
            an ``action_space`` section that adds them to the observation.
        pointed_state: the pointing head whose answer fills two state slots after the
            joints at every inference (``PointedState``); None (the default, and every
            published checkpoint) leaves the padding zero.
    """

    spec: PolicySpec
    normalization: Normalization
    num_denoising_steps: int = 10
    noise_seed: int = 0
    state_joint_names: tuple[str, ...] | None = None
    joint_deltas: bool = False
    pointed_state: PointedState | None = None

    @property
    def state_joints(self) -> tuple[str, ...]:
        """The joints of the state input, in order."""
        return self.spec.joint_names if self.state_joint_names is None else (
            self.state_joint_names)

    def __post_init__(self) -> None:
        check_spec(self.spec)
        if not is_int(self.num_denoising_steps) or self.num_denoising_steps < 1:
            raise ConfigError(
                f'num_denoising_steps: {self.num_denoising_steps!r}, expected an integer >= 1')
        if not is_int(self.noise_seed) or self.noise_seed < 0:
            raise ConfigError(f'noise_seed: {self.noise_seed!r}, expected an integer >= 0')
        if self.state_joint_names is not None:
            _names(self.state_joint_names, 'state_joint_names')
        _check_stats(self.normalization.state, 'normalization.state', len(self.state_joints))
        _check_stats(self.normalization.actions, 'normalization.actions',
                     len(self.spec.joint_names))

    @override
    def to_json(self) -> dict[str, Any]:
        """Return the plain mapping written to ``vla_ros_policy.json``."""
        state_joints = {} if self.state_joint_names is None else {
            'state_joint_names': list(self.state_joint_names)}
        rows = {'action_rows': _JOINT_DELTA_ROWS} if self.joint_deltas else {}
        pointed = {} if self.pointed_state is None else {
            'pointed_state': self.pointed_state.to_json()}
        return {
            'schema_version': SCHEMA_VERSION, **state_joints, **rows, **pointed,
            'spec': spec_to_json(self.spec),
            'num_denoising_steps': self.num_denoising_steps,
            'noise_seed': self.noise_seed,
            'normalization': {
                'mode': _MODE_NAMES[self.normalization.mode],
                'state': _stats_to_dict(self.normalization.state),
                'actions': _stats_to_dict(self.normalization.actions),
            },
        }

    @classmethod
    @override
    def from_json(cls, raw: Any) -> FlowPolicyConfig:
        """Build and validate a config from the parsed JSON mapping.

        Raises:
            ConfigError: a missing, unknown or invalid field; the message gives its path.
        """
        check_header(raw, 'flow', family_stored=False)
        top = parse_fields(raw, '', required={'schema_version', 'spec', 'normalization'},
                           optional={'num_denoising_steps', 'noise_seed', 'state_joint_names',
                                     'action_rows', 'pointed_state'})
        rows = top.get('action_rows', _ABSOLUTE_ROWS)
        if rows not in (_ABSOLUTE_ROWS, _JOINT_DELTA_ROWS):
            raise ConfigError(f'action_rows: {rows!r}, expected {_ABSOLUTE_ROWS!r} or '
                              f'{_JOINT_DELTA_ROWS!r}')
        norm = parse_fields(top['normalization'], 'normalization', required={'state', 'actions'},
                            optional={'mode'})
        modes = {name: mode for mode, name in _MODE_NAMES.items()}
        name = norm.get('mode', _MODE_NAMES[NormMode.ZSCORE])
        if not isinstance(name, str) or name not in modes:
            raise ConfigError(f'normalization.mode: {name!r}, expected one of {sorted(modes)}')
        mode = modes[name]
        return cls(
            spec=spec_from_json(top['spec']),
            normalization=Normalization(
                state=_parse_stats(norm['state'], 'normalization.state'),
                actions=_parse_stats(norm['actions'], 'normalization.actions'), mode=mode),
            num_denoising_steps=top.get('num_denoising_steps', 10),
            noise_seed=top.get('noise_seed', 0),
            state_joint_names=None if top.get('state_joint_names') is None
            else _names(top['state_joint_names'], 'state_joint_names'),
            joint_deltas=rows == _JOINT_DELTA_ROWS,
            pointed_state=None if top.get('pointed_state') is None
            else PointedState.from_json(top['pointed_state']))


#: ``action_rows`` values: absolute joint targets (the default when absent), or offsets from
#: the observed joints.
_ABSOLUTE_ROWS = 'absolute'
_JOINT_DELTA_ROWS = 'joint_delta'


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ConfigError(f'{where}: {raw!r}, expected a non-empty list of names')
    if not all(isinstance(name, str) and name for name in raw):
        raise ConfigError(f'{where}: {raw!r}, expected non-empty strings')
    return tuple(raw)


def _floats(raw: Any, where: str) -> tuple[float, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ConfigError(f'{where}: {raw!r}, expected a list of numbers')
    for index, value in enumerate(raw):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f'{where}[{index}]: {value!r}, expected a number')
    return tuple(float(value) for value in raw)


def _parse_stats(raw: Any, where: str) -> FeatureStats:
    stats = parse_fields(raw, where, required={'mean', 'std'}, optional={'q01', 'q99'})
    quantiles = {key: None if stats.get(key) is None else _floats(stats[key], f'{where}.{key}')
                 for key in ('q01', 'q99')}
    return FeatureStats(mean=_floats(stats['mean'], f'{where}.mean'),
                        std=_floats(stats['std'], f'{where}.std'), **quantiles)


def _stats_to_dict(stats: FeatureStats) -> dict[str, Any]:
    raw: dict[str, Any] = {'mean': list(stats.mean), 'std': list(stats.std)}
    for key in ('q01', 'q99'):
        if getattr(stats, key) is not None:
            raw[key] = list(getattr(stats, key))
    return raw


def _check_stats(stats: FeatureStats, where: str, n_joints: int) -> None:
    for key in ('mean', 'std', 'q01', 'q99'):
        values = getattr(stats, key)
        if values is None:
            continue
        if len(values) != n_joints:
            raise ConfigError(
                f'{where}.{key}: {len(values)} values, expected {n_joints} (one per joint)')
        for index, value in enumerate(values):
            if not math.isfinite(value) or (key == 'std' and value <= 0.0):
                expected = 'finite and > 0' if key == 'std' else 'finite'
                raise ConfigError(f'{where}.{key}[{index}]: {value!r}, expected {expected}')
