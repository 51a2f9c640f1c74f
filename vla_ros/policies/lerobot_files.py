# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Read a LeRobot policy folder's own files: ``config.json``, the processor pipelines, headers.

A folder that ``lerobot-train`` writes (or the Hub serves) holds ``config.json`` (the policy
config, ``"type"`` naming the policy), ``model.safetensors``, ``policy_preprocessor.json`` and
``policy_postprocessor.json`` (the processor pipelines: a list of steps, each a
``registry_name``, its ``config`` and, for stateful steps, a ``state_file``) and the steps'
``.safetensors`` state (the normalizer's statistics, keyed ``<feature>.<stat>``, e.g.
``observation.state.mean``). This module reads them with json and safetensors' numpy backend:
no torch, so ``vla-ros inspect`` is quick. Every problem is a ConfigError naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
import math
from pathlib import Path
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError

__all__ = ['ACTION_KEY', 'feature_width', 'Features', 'LEROBOT_NORM_EPS', 'PREPROCESSOR_FILENAME',
           'POSTPROCESSOR_FILENAME', 'processor_step', 'read_features', 'read_json',
           'read_normalizer_stats',
           'read_state_action_stats', 'read_tensor_infos', 'STATE_KEY', 'TensorInfo']

#: The feature names of the state and the action in LeRobot's config and processor files.
STATE_KEY, ACTION_KEY = 'observation.state', 'action'
PREPROCESSOR_FILENAME = 'policy_preprocessor.json'
POSTPROCESSOR_FILENAME = 'policy_postprocessor.json'
#: LeRobot's normalizer adds this to the standard deviation, as ours does.
LEROBOT_NORM_EPS = 1e-8
_WEIGHTS_FILENAME = 'model.safetensors'
_WEIGHTS_INDEX_FILENAME = 'model.safetensors.index.json'
#: safetensors dtype -> bytes per element (the header names the dtype of every tensor).
_DTYPE_BYTES = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2,
                'I8': 1, 'U8': 1, 'BOOL': 1}


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor of a safetensors file, from its header (no data read).

    Attributes:
        shape: the tensor's shape.
        dtype: the safetensors dtype name ('F32', 'BF16', ...).
    """

    shape: tuple[int, ...]
    dtype: str

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)


def read_json(path: Path, *, what: str) -> dict[str, Any]:
    """Parse a JSON object file; ConfigError naming ``what`` and the path if it cannot be."""
    try:
        raw = json.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f'{path}: cannot read the {what} ({err.strerror})') from err
    except json.JSONDecodeError as err:
        raise ConfigError(f'{path}: the {what} is not valid JSON: {err}') from err
    if not isinstance(raw, dict):
        raise ConfigError(f'{path}: the {what} is not a JSON object')
    return raw


def _header(path: Path) -> dict[str, Any]:
    try:
        with path.open('rb') as file:
            (length,) = struct.unpack('<Q', file.read(8))
            if length > 100_000_000:
                raise ConfigError(f'{path}: header of {length} bytes; not a safetensors file')
            header = json.loads(file.read(length))
    except OSError as err:
        raise ConfigError(f'{path}: cannot read the weights ({err.strerror})') from err
    except (struct.error, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f'{path}: not a safetensors file ({err})') from err
    if not isinstance(header, dict):
        raise ConfigError(f'{path}: not a safetensors file (header is not an object)')
    return header


def read_tensor_infos(folder: Path) -> dict[str, TensorInfo]:
    """Names, shapes and dtypes of every weight in ``model.safetensors`` (or its shards).

    Raises:
        ConfigError: no weights file, or one that is not safetensors.
    """
    index_path = folder / _WEIGHTS_INDEX_FILENAME
    if index_path.is_file():
        weight_map = read_json(index_path, what='weights index').get('weight_map')
        if not isinstance(weight_map, Mapping):
            raise ConfigError(f'{index_path}: no weight_map')
        files = sorted({str(name) for name in weight_map.values()})
    else:
        files = [_WEIGHTS_FILENAME]
    infos: dict[str, TensorInfo] = {}
    for name in files:
        for key, entry in _header(folder / name).items():
            if key == '__metadata__':
                continue
            infos[key] = TensorInfo(shape=tuple(int(n) for n in entry['shape']),
                                    dtype=str(entry['dtype']))
    return infos


def processor_step(pipeline_path: Path, registry_name: str, *, holds: str) -> Mapping[str, Any]:
    """The one step named ``registry_name`` of a processor pipeline; its ``config`` is a mapping.

    Raises:
        ConfigError: no ``steps`` list, not exactly one such step (``holds`` says what the
            step carries), or a ``config`` that is not a mapping.
    """
    pipeline = read_json(pipeline_path, what='processor pipeline')
    steps = pipeline.get('steps')
    if not isinstance(steps, list):
        raise ConfigError(f'{pipeline_path}: no "steps" list; expected a LeRobot processor '
                          'pipeline')
    matches = [step for step in steps
               if isinstance(step, Mapping) and step.get('registry_name') == registry_name]
    if len(matches) != 1:
        raise ConfigError(f'{pipeline_path}: {len(matches)} {registry_name!r} steps, expected '
                          f'one ({holds})')
    if not isinstance(matches[0].get('config', {}), Mapping):
        raise ConfigError(f'{pipeline_path}: {registry_name}.config is '
                          f'{matches[0]["config"]!r}, expected a mapping')
    return matches[0]


def read_normalizer_stats(folder: Path, pipeline_filename: str, registry_name: str,
                          features: tuple[str, ...]) -> dict[str, dict[str, NDArray[np.float64]]]:
    """The statistics a pipeline's (un)normalizer step holds for ``features``.

    Args:
        folder: the LeRobot policy folder.
        pipeline_filename: ``policy_preprocessor.json`` or ``policy_postprocessor.json``.
        registry_name: ``normalizer_processor`` or ``unnormalizer_processor``.
        features: feature keys to return, e.g. ``('observation.state',)``.

    Returns:
        feature -> statistic name ('mean', 'std', 'q01', ...) -> (D,) float64 values.

    Raises:
        ConfigError: a missing file, step or feature, an epsilon other than LeRobot's 1e-8,
            or non-finite statistics.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    pipeline_path = folder / pipeline_filename
    step = processor_step(pipeline_path, registry_name,
                          holds='the normalisation statistics live there')
    step_config = step.get('config', {})
    eps = step_config.get('eps', LEROBOT_NORM_EPS) if isinstance(step_config, Mapping) else None
    if eps != LEROBOT_NORM_EPS:
        raise ConfigError(f'{pipeline_path}: {registry_name}.config.eps is {eps!r}, expected '
                          f'{LEROBOT_NORM_EPS} (the only epsilon supported)')
    state_path = folder / str(step.get('state_file'))
    try:
        tensors = load_file(state_path)
    except (OSError, SafetensorError) as err:
        raise ConfigError(f'{state_path}: cannot read the {registry_name} statistics '
                          f'({err})') from err
    stats: dict[str, dict[str, NDArray[np.float64]]] = {}
    for feature in features:
        found = {key[len(feature) + 1:]: np.asarray(value, dtype=np.float64).reshape(-1)
                 for key, value in tensors.items() if key.startswith(f'{feature}.')}
        if not found:
            raise ConfigError(f'{state_path}: no statistics for {feature!r}; it has '
                              f'{sorted(tensors)[:6]!r}')
        for name, values in found.items():
            if not np.all(np.isfinite(values)):
                raise ConfigError(f'{state_path}: {feature}.{name} has NaN or Inf values')
        stats[feature] = found
    return stats


def feature_width(features: Any, key: str, kind: str, where: Path) -> int:
    """The width of a one-dimensional ``config.json`` feature (``STATE``/``ACTION``).

    Raises:
        ConfigError: ``key`` is missing, of another type, or not one-dimensional.
    """
    entry = features.get(key) if isinstance(features, Mapping) else None
    shape = entry.get('shape') if isinstance(entry, Mapping) else None
    if not isinstance(entry, Mapping) or entry.get('type') != kind or not isinstance(
            shape, list) or len(shape) != 1:
        raise ConfigError(f'{where}: feature {key!r}: {entry!r}, expected type {kind} with a '
                          'one-dimensional shape')
    return int(shape[0])


@dataclass(frozen=True, slots=True)
class Features:
    """What a LeRobot ``config.json`` says its policy reads and writes.

    Attributes:
        image_keys: each ``VISUAL`` input feature with its shape, in the file's order.
        state_dim: the width of ``observation.state``.
        action_dim: the width of ``action``.
    """

    image_keys: tuple[tuple[str, tuple[int, ...]], ...]
    state_dim: int
    action_dim: int


def read_features(raw: Mapping[str, Any], where: Path) -> Features:
    """The image, state and action features of a LeRobot ``config.json`` (read into ``raw``).

    Raises:
        ConfigError: no ``VISUAL`` input, or a state/action feature missing or not 1-D.
    """
    inputs = raw.get('input_features')
    image_keys = tuple(
        (str(key), tuple(int(n) for n in entry.get('shape', ())))
        for key, entry in (inputs.items() if isinstance(inputs, Mapping) else ())
        if isinstance(entry, Mapping) and entry.get('type') == 'VISUAL')
    if not image_keys:
        raise ConfigError(f'{where}: input_features has no VISUAL feature')
    return Features(image_keys=image_keys,
                    state_dim=feature_width(inputs, STATE_KEY, 'STATE', where),
                    action_dim=feature_width(raw.get('output_features'), ACTION_KEY, 'ACTION',
                                             where))


def read_state_action_stats(folder: Path) -> tuple[dict[str, NDArray[np.float64]],
                                                   dict[str, NDArray[np.float64]]]:
    """The state statistics of the pre-processor and the action ones of the post-processor."""
    state = read_normalizer_stats(folder, PREPROCESSOR_FILENAME, 'normalizer_processor',
                                  (STATE_KEY,))[STATE_KEY]
    action = read_normalizer_stats(folder, POSTPROCESSOR_FILENAME, 'unnormalizer_processor',
                                   (ACTION_KEY,))[ACTION_KEY]
    return state, action
