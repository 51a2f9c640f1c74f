# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Per-dimension normalization of states and actions, as VLA checkpoints store it.

Two schemes exist. Quantile statistics map q01 -> -1 and q99 -> +1 and clip (OpenVLA, pi0-FAST,
pi0.5); z-scores subtract the mean and divide by the standard deviation (pi0). Both carry an
optional ``mask``: True where a dimension is normalized, False where it passes through raw (the
gripper, typically), the convention of OpenVLA's ``dataset_statistics.json``. Models work at a
fixed maximum width (pi0 uses 32), so ``pad_dims`` and ``unpad_dims`` convert between the
robot's width and the model's. ``compute_stats`` makes the statistics of a dataset.

Each stats class reads and writes a plain JSON mapping (``to_json``/``from_json``) with the
keys checkpoints use; invalid input raises ConfigError naming the field. numpy only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
import enum
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from vla_ros.core.checked_mapping import parse_fields
from vla_ros.core.errors import ConfigError, InputError, PolicyOutputError

__all__ = [
    'DEFAULT_EPS', 'DatasetStats', 'NormMode', 'QuantileStats', 'ZScoreStats', 'compute_stats',
    'pad_dims', 'unpad_dims',
]

#: Added to the q01..q99 range and to the standard deviation, as openpi does (1e-6).
DEFAULT_EPS = 1e-6


class NormMode(enum.Enum):
    """Which statistics map a feature to a model's space; the one name set of every family.

    Checkpoint formats spell the modes their own way (a vla_ros flow file ``mean_std``, a
    diffusion file ``zscore`` / ``quantile``, a LeRobot folder ``MEAN_STD`` / ``QUANTILES``);
    each format's reader maps its spelling to these members and writes it back unchanged.
    """

    #: (value - mean) / (std + eps): ``ZScoreStats``.
    ZSCORE = 'zscore'
    #: q01 -> -1, q99 -> +1: ``QuantileStats``.
    QUANTILE = 'quantile'


@dataclass(frozen=True, slots=True)
class QuantileStats:
    """Quantile normalization: q01 -> -1, q99 -> +1, clipped to [-1, 1] on the way in.

    Attributes:
        q01: (D,) 1st percentile per dimension, robot units (rad, m).
        q99: (D,) 99th percentile per dimension, same units, >= q01.
        mask: (D,) True where the dimension is normalized, False where it stays raw; None
            normalizes every dimension.
        eps: added to q99 - q01 so a constant dimension does not divide by zero.
    """

    q01: tuple[float, ...]
    q99: tuple[float, ...]
    mask: tuple[bool, ...] | None = None
    eps: float = DEFAULT_EPS

    def __post_init__(self) -> None:
        _validate_fields(self, ('q01', 'q99', 'mask', 'eps'))

    @property
    def dim(self) -> int:
        """Number of dimensions D."""
        return len(self.q01)

    def normalize(self, values: ArrayLike) -> NDArray[np.float64]:
        """Map robot-unit values (..., D) into [-1, 1]; masked-off dimensions pass unchanged.

        Raises:
            InputError: the last axis is not D wide, or a value is NaN or Inf.
        """
        raw = _input(values, self.dim, 'QuantileStats.normalize')
        low, span = np.asarray(self.q01), np.asarray(self.q99) - np.asarray(self.q01) + self.eps
        normalized = np.clip((raw - low) / span * 2.0 - 1.0, -1.0, 1.0)
        return _apply_mask(self.mask, normalized, raw)

    def unnormalize(self, normalized: ArrayLike) -> NDArray[np.float64]:
        """Map model-space values (..., D) back to robot units; not clipped.

        Raises:
            PolicyOutputError: the last axis is not D wide, or a value is NaN or Inf.
        """
        model = _output(normalized, self.dim, 'QuantileStats.unnormalize')
        low, span = np.asarray(self.q01), np.asarray(self.q99) - np.asarray(self.q01) + self.eps
        return _apply_mask(self.mask, (model + 1.0) / 2.0 * span + low, model)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON mapping: ``q01``, ``q99``, ``eps`` and ``mask`` when set."""
        return _to_json(self, ('q01', 'q99'))

    @classmethod
    def from_json(cls, raw: Any, where: str = 'stats') -> QuantileStats:
        """Build from a JSON mapping; ``where`` prefixes the field path in error messages.

        Raises:
            ConfigError: a missing, unknown or invalid field.
        """
        fields = parse_fields(raw, where, required={'q01', 'q99'}, optional={'mask', 'eps'})
        return cls(**_validated(fields, where))


@dataclass(frozen=True, slots=True)
class ZScoreStats:
    """Z-score normalization: (value - mean) / (std + eps).

    Attributes:
        mean: (D,) mean per dimension, robot units.
        std: (D,) standard deviation per dimension, same units, >= 0.
        mask: (D,) True where the dimension is normalized, False where it stays raw; None
            normalizes every dimension.
        eps: added to ``std`` so a constant dimension does not divide by zero.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    mask: tuple[bool, ...] | None = None
    eps: float = DEFAULT_EPS

    def __post_init__(self) -> None:
        _validate_fields(self, ('mean', 'std', 'mask', 'eps'))

    @property
    def dim(self) -> int:
        """Number of dimensions D."""
        return len(self.mean)

    def normalize(self, values: ArrayLike) -> NDArray[np.float64]:
        """Map robot-unit values (..., D) to z-scores; masked-off dimensions pass unchanged.

        Raises:
            InputError: the last axis is not D wide, or a value is NaN or Inf.
        """
        raw = _input(values, self.dim, 'ZScoreStats.normalize')
        scale = np.asarray(self.std) + self.eps
        return _apply_mask(self.mask, (raw - np.asarray(self.mean)) / scale, raw)

    def unnormalize(self, normalized: ArrayLike) -> NDArray[np.float64]:
        """Map z-scores (..., D) back to robot units; the inverse of ``normalize``.

        Raises:
            PolicyOutputError: the last axis is not D wide, or a value is NaN or Inf.
        """
        model = _output(normalized, self.dim, 'ZScoreStats.unnormalize')
        scale = np.asarray(self.std) + self.eps
        return _apply_mask(self.mask, model * scale + np.asarray(self.mean), model)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON mapping: ``mean``, ``std``, ``eps`` and ``mask`` when set."""
        return _to_json(self, ('mean', 'std'))

    @classmethod
    def from_json(cls, raw: Any, where: str = 'stats') -> ZScoreStats:
        """Build from a JSON mapping; ``where`` prefixes the field path in error messages.

        Raises:
            ConfigError: a missing, unknown or invalid field.
        """
        fields = parse_fields(raw, where, required={'mean', 'std'}, optional={'mask', 'eps'})
        return cls(**_validated(fields, where))


@dataclass(frozen=True, slots=True)
class DatasetStats:
    """All four statistics of one feature, as openpi's ``norm_stats.json`` stores them.

    Attributes:
        mean: (D,) mean, robot units.
        std: (D,) standard deviation (population), robot units.
        q01: (D,) 1st percentile, robot units.
        q99: (D,) 99th percentile, robot units.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    q01: tuple[float, ...]
    q99: tuple[float, ...]

    def __post_init__(self) -> None:
        _validate_fields(self, ('mean', 'std', 'q01', 'q99'))

    def quantile_stats(self, mask: Sequence[bool] | None = None) -> QuantileStats:
        """Return the quantile normalizer of these statistics; ``mask`` as in QuantileStats."""
        return QuantileStats(q01=self.q01, q99=self.q99,
                             mask=None if mask is None else tuple(mask))

    def zscore_stats(self, mask: Sequence[bool] | None = None) -> ZScoreStats:
        """Return the z-score normalizer of these statistics; ``mask`` as in ZScoreStats."""
        return ZScoreStats(mean=self.mean, std=self.std,
                           mask=None if mask is None else tuple(mask))

    def to_json(self) -> dict[str, Any]:
        """Return the JSON mapping with keys ``mean``, ``std``, ``q01`` and ``q99``."""
        return {key: list(getattr(self, key)) for key in ('mean', 'std', 'q01', 'q99')}

    @classmethod
    def from_json(cls, raw: Any, where: str = 'stats') -> DatasetStats:
        """Build from a JSON mapping; ``where`` prefixes the field path in error messages.

        Raises:
            ConfigError: a missing, unknown or invalid field.
        """
        fields = parse_fields(raw, where, required={'mean', 'std', 'q01', 'q99'})
        return cls(**_validated(fields, where))


def compute_stats(samples: ArrayLike) -> DatasetStats:
    """Compute mean, std, q01 and q99 of ``samples`` (N, D), one value per column.

    Quantiles interpolate linearly between samples (numpy's default); openpi's histogram
    estimate agrees with it to within one histogram bin.

    Raises:
        InputError: ``samples`` is not (N >= 1, D >= 1) or holds NaN or Inf.
    """
    array = np.asarray(samples, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise InputError(f'compute_stats: samples of shape {array.shape!r}, expected (N, D)')
    if not np.all(np.isfinite(array)):
        raise InputError('compute_stats: samples contain NaN or Inf')
    q01, q99 = np.quantile(array, [0.01, 0.99], axis=0)
    return DatasetStats(mean=tuple(array.mean(axis=0)), std=tuple(array.std(axis=0)),
                        q01=tuple(q01), q99=tuple(q99))


def pad_dims(values: ArrayLike, width: int) -> NDArray[np.float64]:
    """Pad the last axis of ``values`` with zeros to ``width`` (the model's maximum dimension).

    Raises:
        ConfigError: ``values`` is already wider than ``width``: the robot has more
            dimensions than the model supports.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] > width:
        raise ConfigError(
            f'pad_dims: last axis of shape {array.shape!r} exceeds the model width {width}')
    padding = [(0, 0)] * (array.ndim - 1) + [(0, width - array.shape[-1])]
    return np.pad(array, padding)


def unpad_dims(values: ArrayLike, width: int) -> NDArray[np.float64]:
    """Keep the first ``width`` entries of the last axis (the robot's dimensions).

    Raises:
        PolicyOutputError: the model produced fewer than ``width`` dimensions.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] < width:
        raise PolicyOutputError(
            f'unpad_dims: model output of shape {array.shape!r} has fewer than {width} dims')
    return array[..., :width]


def _apply_mask(mask: tuple[bool, ...] | None, mapped: NDArray[np.float64],
                raw: NDArray[np.float64]) -> NDArray[np.float64]:
    if mask is None:
        return mapped
    return np.where(np.asarray(mask), mapped, raw)


def _input(values: ArrayLike, dim: int, where: str) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] != dim:
        raise InputError(f'{where}: values of shape {array.shape!r}, expected (..., {dim})')
    if not np.all(np.isfinite(array)):
        raise InputError(f'{where}: values contain NaN or Inf')
    return array


def _output(values: ArrayLike, dim: int, where: str) -> NDArray[np.float64]:
    try:
        return _input(values, dim, where)
    except InputError as err:
        raise PolicyOutputError(str(err)) from err


def _validate_fields(stats: QuantileStats | ZScoreStats | DatasetStats,
                     keys: tuple[str, ...]) -> None:
    """Check and coerce the fields of ``stats`` in place, errors prefixed by its class name."""
    values = _validated({key: getattr(stats, key) for key in keys}, type(stats).__name__)
    for key, value in values.items():
        object.__setattr__(stats, key, value)


def _validated(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Return ``raw`` with vectors as float tuples and the mask as a bool tuple.

    Vectors share one non-zero length; q99 >= q01 and std >= 0 element-wise; eps is finite
    and >= 0. ConfigError names ``where.<field>[index]`` of the first violation.
    """
    values = dict(raw)
    vectors = [key for key in ('mean', 'std', 'q01', 'q99') if key in values]
    for key in vectors:
        values[key] = _floats(values[key], f'{where}.{key}')
        if not values[key] or len(values[key]) != len(values[vectors[0]]):
            raise ConfigError(
                f'{where}.{key}: {len(values[key])} values, expected as many as '
                f'{vectors[0]} and at least one')
    dim = len(values[vectors[0]])
    for index, value in enumerate(values.get('std', ())):
        if value < 0.0:
            raise ConfigError(f'{where}.std[{index}]: {value!r}, expected >= 0')
    for index, (low, high) in enumerate(zip(values.get('q01', ()), values.get('q99', ()))):
        if high < low:
            raise ConfigError(f'{where}.q99[{index}]: {high!r}, expected >= q01 ({low!r})')
    mask = values.get('mask')
    if mask is not None:
        if not isinstance(mask, Sequence | np.ndarray) or len(mask) != dim or not all(
                isinstance(flag, bool | np.bool_) for flag in mask):
            raise ConfigError(f'{where}.mask: {mask!r}, expected a list of {dim} booleans')
        values['mask'] = tuple(bool(flag) for flag in mask)
    eps = values.get('eps', 0.0)
    if isinstance(eps, bool) or not isinstance(eps, int | float) or not 0.0 <= eps < math.inf:
        raise ConfigError(f'{where}.eps: {eps!r}, expected a finite number >= 0')
    if 'eps' in values:
        values['eps'] = float(eps)
        spans = values.get('std') or [hi - lo for lo, hi in zip(values['q01'], values['q99'])]
        if eps == 0.0 and min(spans) <= 0.0:
            raise ConfigError(
                f'{where}.eps: 0 while dimension {spans.index(min(spans))} has zero width; '
                'expected eps > 0 to avoid dividing by zero')
    return values


def _floats(raw: Any, where: str) -> tuple[float, ...]:
    if isinstance(raw, str) or not isinstance(raw, Sequence | np.ndarray):
        raise ConfigError(f'{where}: {raw!r}, expected a list of numbers')
    for index, value in enumerate(raw):
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            raise ConfigError(f'{where}[{index}]: {value!r}, expected a number')
        if not math.isfinite(value):
            raise ConfigError(f'{where}[{index}]: {value!r}, expected a finite number')
    return tuple(float(value) for value in raw)


def _to_json(stats: QuantileStats | ZScoreStats, keys: tuple[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {key: list(getattr(stats, key)) for key in keys}
    raw['eps'] = stats.eps
    if stats.mask is not None:
        raw['mask'] = list(stats.mask)
    return raw
