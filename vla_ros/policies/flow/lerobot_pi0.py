# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What a LeRobot pi0 folder is, read from its own files (no torch): ``describe_pi0``.

The folder's ``config.json`` gives the policy type, the Gemma variants, image keys and
resolution, state and action widths, chunk length, denoising steps and normalisation modes;
the processor pipelines give the statistics; the weights' header gives the architecture.
LeRobot builds the vision tower as SigLIP So400m/14 and the two Gemmas from named variants;
here the widths, depths and vocabulary are read from the tensor shapes and checked against the
named variants, so a miniature of the layout (tiny dims, openpi's ``dummy`` variant) loads the
same way. Heads: every pi0 Gemma has one key/value head (PaliGemma's multi-query attention),
SigLIP heads are 72 wide (So400m: 1152 = 16 x 72).

``detect_layout`` tells the layouts apart by ``config.json``: LeRobot's carries ``"type"``, a
vla_ros flow checkpoint carries ``vla_ros_policy.json``. The flow family loads ``"type": "pi0"``;
a ``"pi05"`` folder is refused pointing at the ``pi05`` family (``vla_ros.policies.pi05``), which
reads it with ``describe_lerobot`` (same layout, another expert and normalisation), and any
other type is refused naming the supported ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import enum
from pathlib import Path
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.policies.flow.config import CONFIG_FILENAME
from vla_ros.policies.lerobot_files import (
    read_features,
    read_json,
    read_state_action_stats,
    read_tensor_infos,
    TensorInfo,
)

__all__ = ['CheckpointLayout', 'GemmaShape', 'LEROBOT_TYPE_FAMILIES', 'LeRobotPi0',
           'SUPPORTED_LEROBOT_TYPES', 'VisionShape', 'describe_lerobot', 'describe_pi0',
           'detect_layout']

#: LeRobot policy types the flow family loads; 'pi0_fast' is planned.
SUPPORTED_LEROBOT_TYPES = ('pi0',)
#: LeRobot policy type -> the vla_ros family that loads it.
LEROBOT_TYPE_FAMILIES = {'pi0': 'flow', 'pi05': 'pi05'}
#: LeRobot policy type -> the normalisation modes vla_ros applies to its state and actions.
_NORMALIZATION_MODES = {'pi0': ('MEAN_STD',), 'pi05': ('QUANTILES', 'MEAN_STD')}
#: Gemma variant -> (width, depth, mlp width, heads, head size): openpi's ``gemma.get_config``
#: (LeRobot accepts the first two; ``dummy`` is openpi's miniature, used for tests).
_GEMMA_VARIANTS = {
    'gemma_2b': (2048, 18, 16_384, 8, 256),
    'gemma_300m': (1024, 18, 4096, 8, 256),
    'dummy': (64, 4, 128, 8, 16),
}
_SIGLIP_HEAD_SIZE = 72
_VLM = 'model.paligemma_with_expert.paligemma.'
_EXPERT = 'model.paligemma_with_expert.gemma_expert.'
_VISION = _VLM + 'model.vision_tower.vision_model.'


class CheckpointLayout(enum.Enum):
    """How a flow checkpoint folder is laid out."""

    VLA_ROS = 'vla_ros'  # transformers' files + vla_ros_policy.json (``checkpoint.py`` writes)
    LEROBOT_PI0 = 'lerobot_pi0'  # a LeRobot pi0 folder as published or as lerobot-train writes


@dataclass(frozen=True, slots=True)
class GemmaShape:
    """One Gemma stack (the VLM's language model or the action expert)."""

    variant: str
    width: int
    depth: int
    mlp_width: int
    heads: int
    head_size: int
    vocab_size: int


@dataclass(frozen=True, slots=True)
class VisionShape:
    """The SigLIP vision tower."""

    width: int
    depth: int
    mlp_width: int
    heads: int
    patch_px: int
    image_px: int


@dataclass(frozen=True, slots=True)
class LeRobotPi0:
    """A LeRobot pi0 or pi0.5 folder: its config, architecture and statistics (module doc).

    Attributes:
        folder: the checkpoint folder.
        image_keys: image feature keys in the model's camera order, with (C, H, W) as stored.
        state_dim: width of ``observation.state``.
        action_dim: width of ``action``.
        chunk_length: rows the model predicts per chunk (``chunk_size``).
        action_steps: rows LeRobot executes per chunk (``n_action_steps``).
        max_state_dim: the model's padded state width.
        max_action_dim: the model's padded action width.
        denoising_steps: Euler steps (``num_inference_steps``).
        image_px: side of the square images the model takes (``image_resolution``).
        normalization: feature type -> LeRobot mode ('MEAN_STD', 'IDENTITY', ...).
        text: the VLM's language model; expert: the action expert; vision: the vision tower.
        parameter_count: elements in all weights.
        weight_dtypes: the safetensors dtypes of the weights, sorted.
        stored_dtype: ``config.json``'s ``dtype`` (the precision LeRobot ran it in).
        state_stats / action_stats: statistic name -> (D,) values, robot units.
        model_config: the raw ``config.json`` values the transformers config is built from.
        policy_type: ``config.json``'s ``type``: 'pi0' or 'pi05'.
        tokenizer_max_length: tokens of the padded prompt (``tokenizer_max_length``).
    """

    folder: Path
    image_keys: tuple[tuple[str, tuple[int, ...]], ...]
    state_dim: int
    action_dim: int
    chunk_length: int
    action_steps: int
    max_state_dim: int
    max_action_dim: int
    denoising_steps: int
    image_px: int
    normalization: Mapping[str, str]
    text: GemmaShape
    expert: GemmaShape
    vision: VisionShape
    parameter_count: int
    weight_dtypes: tuple[str, ...]
    stored_dtype: str
    state_stats: Mapping[str, NDArray[np.float64]]
    action_stats: Mapping[str, NDArray[np.float64]]
    model_config: Mapping[str, Any]
    policy_type: str = 'pi0'
    tokenizer_max_length: int = 48


def detect_layout(folder: Path) -> CheckpointLayout:
    """Which layout ``folder`` has, from its ``config.json`` (see the module doc).

    Raises:
        ConfigError: a LeRobot type other than pi0, or a folder in neither layout.
    """
    folder = Path(folder)
    config_path = folder / 'config.json'
    if config_path.is_file():
        raw = read_json(config_path, what='model config')
        if 'type' in raw:
            if raw['type'] in SUPPORTED_LEROBOT_TYPES:
                return CheckpointLayout.LEROBOT_PI0
            family = LEROBOT_TYPE_FAMILIES.get(str(raw['type']))
            hint = f' (load it with policy.family: {family})' if family else ''
            raise ConfigError(f'{config_path}: LeRobot policy type {raw["type"]!r} is not '
                              f'supported by the flow family; supported: '
                              f'{list(SUPPORTED_LEROBOT_TYPES)!r}{hint}')
    if (folder / CONFIG_FILENAME).is_file() or not config_path.is_file():
        return CheckpointLayout.VLA_ROS
    raise ConfigError(f'{folder}: neither a LeRobot policy folder (config.json with "type") '
                      f'nor a vla_ros flow checkpoint ({CONFIG_FILENAME})')


def _int(raw: Mapping[str, Any], key: str, where: Path) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f'{where}: {key}: {value!r}, expected an integer >= 1')
    return value


def _count_layers(infos: Mapping[str, TensorInfo], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r'(\d+)\.')
    indices = {int(match.group(1)) for name in infos if (match := pattern.match(name))}
    return max(indices) + 1 if indices else 0


def _shape(infos: Mapping[str, TensorInfo], name: str, where: Path) -> tuple[int, ...]:
    if name not in infos:
        raise ConfigError(f'{where}/model.safetensors: no tensor {name!r}; not a LeRobot pi0 '
                          'checkpoint')
    return infos[name].shape


def _gemma(infos: Mapping[str, TensorInfo], prefix: str, embed: str, variant: Any,
           where: Path) -> GemmaShape:
    if variant not in _GEMMA_VARIANTS:
        raise ConfigError(f'{where}/config.json: Gemma variant {variant!r}, expected one of '
                          f'{sorted(_GEMMA_VARIANTS)!r}')
    vocab_size, width = _shape(infos, embed, where)
    depth = _count_layers(infos, prefix + 'layers.')
    mlp_width = _shape(infos, f'{prefix}layers.0.mlp.gate_proj.weight', where)[0]
    found = (width, depth, mlp_width)
    expected = _GEMMA_VARIANTS[variant]
    if found != expected[:3]:
        raise ConfigError(
            f'{where}: config.json names Gemma variant {variant!r} (width, depth, MLP '
            f'{expected[:3]}), model.safetensors has {found} under {prefix!r}')
    return GemmaShape(variant=str(variant), width=width, depth=depth, mlp_width=mlp_width,
                      heads=expected[3], head_size=expected[4], vocab_size=vocab_size)


def _vision(infos: Mapping[str, TensorInfo], image_px: int, where: Path) -> VisionShape:
    width, _, patch_px, _ = _shape(infos, _VISION + 'embeddings.patch_embedding.weight', where)
    positions = _shape(infos, _VISION + 'embeddings.position_embedding.weight', where)[0]
    if width % _SIGLIP_HEAD_SIZE or positions != (image_px // patch_px) ** 2:
        raise ConfigError(
            f'{where}: vision tower of width {width} with {positions} positions, expected a '
            f'multiple of {_SIGLIP_HEAD_SIZE} and ({image_px} px / {patch_px} px)^2 positions')
    return VisionShape(
        width=width, depth=_count_layers(infos, _VISION + 'encoder.layers.'),
        mlp_width=_shape(infos, _VISION + 'encoder.layers.0.mlp.fc1.weight', where)[0],
        heads=width // _SIGLIP_HEAD_SIZE, patch_px=patch_px, image_px=image_px)


def _image_px(raw: Mapping[str, Any], where: Path) -> int:
    resolution = raw.get('image_resolution', [224, 224])
    if (not isinstance(resolution, list) or len(resolution) != 2
            or resolution[0] != resolution[1] or not isinstance(resolution[0], int)):
        raise ConfigError(f'{where}: image_resolution: {resolution!r}, expected a square '
                          '[H, W] (the vision tower takes square images)')
    return resolution[0]


def _check_supported(raw: Mapping[str, Any], normalization: Mapping[str, str],
                     where: Path, policy_type: str) -> None:
    if raw.get('type') != policy_type:
        raise ConfigError(f'{where}: type {raw.get("type")!r}, expected {policy_type!r}')
    modes = _NORMALIZATION_MODES[policy_type]
    for kind in ('STATE', 'ACTION'):
        if normalization.get(kind) not in modes:
            raise ConfigError(f'{where}: normalization_mapping.{kind} is '
                              f'{normalization.get(kind)!r}; supported for {policy_type}: '
                              f'{list(modes)!r}')
    if raw.get('use_relative_actions'):
        raise ConfigError(f'{where}: use_relative_actions is true; relative {policy_type} '
                          'actions are not supported yet')


def describe_pi0(folder: Path) -> LeRobotPi0:
    """Read a LeRobot pi0 folder's config, architecture and statistics (no weights loaded).

    Raises:
        ConfigError: a missing or unreadable file, a value vla_ros does not support, or files
            that disagree (widths, variants, statistics); the message names the file.
    """
    return describe_lerobot(folder, policy_type='pi0')


def describe_lerobot(folder: Path, *, policy_type: str) -> LeRobotPi0:
    """``describe_pi0`` for a LeRobot folder of ``policy_type`` ('pi0' or 'pi05').

    Both share the layout: PaliGemma and a Gemma action expert under
    ``model.paligemma_with_expert``, the same config keys and processor files.

    Raises:
        ConfigError: as ``describe_pi0``, or a folder of another type.
    """
    folder = Path(folder)
    where = folder / 'config.json'
    raw = read_json(where, what='model config')
    normalization = {str(k): str(v) for k, v in dict(raw.get('normalization_mapping', {})).items()}
    _check_supported(raw, normalization, where, policy_type)
    features = read_features(raw, where)
    image_keys, state_dim, action_dim = (features.image_keys, features.state_dim,
                                         features.action_dim)
    max_state_dim, max_action_dim = (_int(raw, 'max_state_dim', where),
                                     _int(raw, 'max_action_dim', where))
    if state_dim > max_state_dim or action_dim > max_action_dim:
        raise ConfigError(f'{where}: state/action widths {state_dim}/{action_dim} exceed '
                          f'max_state_dim/max_action_dim {max_state_dim}/{max_action_dim}')
    infos = read_tensor_infos(folder)
    image_px = _image_px(raw, where)
    state_stats, action_stats = read_state_action_stats(folder)
    for name, stats, width in (('state', state_stats, state_dim),
                               ('action', action_stats, action_dim)):
        for stat, values in stats.items():
            if values.shape != (width,):
                raise ConfigError(f'{folder}: {name} statistic {stat!r} has {values.size} '
                                  f'values, config.json says {width} dimensions')
    chunk_length = _int(raw, 'chunk_size', where)
    return LeRobotPi0(
        folder=folder, image_keys=image_keys, state_dim=state_dim, action_dim=action_dim,
        chunk_length=chunk_length,
        action_steps=int(raw.get('n_action_steps', chunk_length)),
        max_state_dim=max_state_dim, max_action_dim=max_action_dim,
        denoising_steps=_int(raw, 'num_inference_steps', where), image_px=image_px,
        normalization=normalization,
        text=_gemma(infos, _VLM + 'model.language_model.', _VLM + 'lm_head.weight',
                    raw.get('paligemma_variant'), folder),
        expert=_gemma(infos, _EXPERT + 'model.', _EXPERT + 'lm_head.weight',
                      raw.get('action_expert_variant'), folder),
        vision=_vision(infos, image_px, folder),
        parameter_count=sum(info.size for info in infos.values()),
        weight_dtypes=tuple(sorted({info.dtype for info in infos.values()})),
        stored_dtype=str(raw.get('dtype', 'float32')), state_stats=state_stats,
        action_stats=action_stats, model_config=raw, policy_type=policy_type,
        tokenizer_max_length=_int(raw, 'tokenizer_max_length', where)
        if 'tokenizer_max_length' in raw else 48)
