# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
r"""What a LeRobot pi0-FAST folder is, read from its own files (no torch): ``describe_pi0_fast``.

LeRobot (0.4 and later, ``"type": "pi0_fast"``) writes ``config.json``, ``model.safetensors``
(one PaliGemma under ``model.paligemma_with_expert.paligemma.``: ``lm_head.weight`` and,
under ``model.``, ``language_model.*``, ``vision_tower.vision_model.*`` and
``multi_modal_projector.*``; the token embedding is tied to ``lm_head`` and saved once), the
processor pipelines with the normalizer statistics, and, since 0.6, the text tokenizer in
``tokenizer/`` and the FAST tokenizer in ``action_tokenizer/`` (released format,
``released_tokenizer.py``). Widths, depths, heads (one key/value head) and the vocabulary are
read from the tensor shapes and checked against the named Gemma variant (``dummy`` is openpi's
miniature, for tests; ``vla_ros``, which ``vla-ros train --family fast`` writes, is any size).
State and actions are normalised MEAN_STD (LeRobot's default for pi0_fast) or QUANTILES.

The model decodes after the prompt ``<bos>Task: {task}, State: {bins};\n`` and a second
``<bos>``; the bins are those of the normalised state zero-padded to the pre-processor's
``pi0_fast_prepare_state_tokenizer_processor_step`` ``max_state_dim`` (32 when unset, LeRobot's
default; a wider state is not cut), so a 7-joint state is followed by 25 bins of 128. Then:
``Action: ``, FAST ids, ``|``. FAST id f is model id ``V - 1 - fast_skip_tokens - f``, V the
text tokenizer's base vocabulary (257152 for PaliGemma, skip 128).
The deprecated ``"type": "pi0fast"`` (LeRobot 0.3 and before) kept its statistics inside the
weights and is refused, naming the supported type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vla_ros.core.errors import ConfigError
from vla_ros.policies.lerobot_files import (
    PREPROCESSOR_FILENAME,
    processor_step,
    read_features,
    read_json,
    read_state_action_stats,
    read_tensor_infos,
    TensorInfo,
)

__all__ = ['LEROBOT_FAST_TYPE', 'LEROBOT_MAX_STATE_DIM', 'LeRobotPi0Fast', 'NORM_STATS',
           'PALIGEMMA_PREFIX', 'PaliGemmaShape', 'VLA_ROS_VARIANT', 'describe_pi0_fast',
           'is_lerobot_folder']

LEROBOT_FAST_TYPE = 'pi0_fast'
_DEPRECATED_TYPE = 'pi0fast'
#: Where LeRobot's pi0-FAST keeps its one PaliGemma in ``model.safetensors``.
PALIGEMMA_PREFIX = 'model.paligemma_with_expert.paligemma.'
_TEXT = PALIGEMMA_PREFIX + 'model.language_model.'
_VISION = PALIGEMMA_PREFIX + 'model.vision_tower.vision_model.'
#: Gemma variant -> (width, depth, mlp width, heads, head size), openpi's ``gemma.get_config``.
_GEMMA_VARIANTS = {'gemma_2b': (2048, 18, 16_384, 8, 256), 'gemma_300m': (1024, 18, 4096, 8, 256),
                   'dummy': (64, 4, 128, 8, 16)}
#: The variant ``vla-ros train --family fast`` writes: any size, read from the tensor shapes.
VLA_ROS_VARIANT = 'vla_ros'
_SIGLIP_HEAD_SIZE = 72
#: LeRobot's width the state is zero-padded to before its bins enter the prompt
#: (``PI0FastConfig.max_state_dim`` and the prepare-state step's default).
LEROBOT_MAX_STATE_DIM = 32
_PREPARE_STATE_STEP = 'pi0_fast_prepare_state_tokenizer_processor_step'
#: LeRobot normalization mode -> the statistics it reads (low, high).
NORM_STATS = {'MEAN_STD': ('mean', 'std'), 'QUANTILES': ('q01', 'q99')}


@dataclass(frozen=True, slots=True)
class PaliGemmaShape:
    """Sizes of a pi0-FAST PaliGemma (one key/value head, SigLIP heads 72 wide).

    Attributes:
        width, depth, mlp_width, heads, head_size, vocab_size: the Gemma.
        vision_width, vision_depth, vision_mlp_width: the SigLIP tower.
        patch_px, image_px: patch and image sides, pixels.
    """

    width: int
    depth: int
    mlp_width: int
    heads: int
    head_size: int
    vocab_size: int
    vision_width: int
    vision_depth: int
    vision_mlp_width: int
    patch_px: int
    image_px: int


@dataclass(frozen=True, slots=True)
class LeRobotPi0Fast:
    """A LeRobot pi0-FAST folder (see the module doc).

    Attributes:
        folder: the checkpoint folder.
        image_keys: image feature keys in the model's camera order, with (C, H, W).
        state_dim / action_dim: widths of ``observation.state`` and ``action``.
        state_width: state bins in the prompt: ``state_dim`` zero-padded to the prepare-state
            step's ``max_state_dim`` (never fewer than ``state_dim``).
        chunk_length: rows per chunk (``chunk_size``); action_steps: ``n_action_steps``.
        max_decoding_steps: most ids generated per chunk.
        fast_skip_tokens: ids left free at the end of the text vocabulary (128).
        image_px: side of the square images (``image_resolution``).
        variant, width, depth, mlp_width, heads, head_size, vocab_size: the Gemma.
        vision_width, vision_depth, vision_mlp_width, patch_px: the SigLIP tower.
        parameter_count: elements in all weights; weight_dtypes: their safetensors dtypes.
        state_mode / action_mode: ``MEAN_STD`` or ``QUANTILES`` (``NORM_STATS``).
        state_stats / action_stats: statistic name -> (D,) values, robot units.
        text_tokenizer: ``tokenizer/`` when the folder has it, else None.
        action_tokenizer: ``action_tokenizer/`` when the folder has it, else None.
        action_tokenizer_name: the config's ``action_tokenizer_name`` (where to get one).
    """

    folder: Path
    image_keys: tuple[tuple[str, tuple[int, ...]], ...]
    state_dim: int
    action_dim: int
    state_width: int
    chunk_length: int
    action_steps: int
    max_decoding_steps: int
    fast_skip_tokens: int
    image_px: int
    variant: str
    width: int
    depth: int
    mlp_width: int
    heads: int
    head_size: int
    vocab_size: int
    vision_width: int
    vision_depth: int
    vision_mlp_width: int
    patch_px: int
    parameter_count: int
    weight_dtypes: tuple[str, ...]
    state_mode: str
    action_mode: str
    state_stats: Mapping[str, NDArray[np.float64]]
    action_stats: Mapping[str, NDArray[np.float64]]
    text_tokenizer: Path | None
    action_tokenizer: Path | None
    action_tokenizer_name: str

    def paligemma_shape(self) -> PaliGemmaShape:
        """The sizes to build the model with."""
        return PaliGemmaShape(
            width=self.width, depth=self.depth, mlp_width=self.mlp_width, heads=self.heads,
            head_size=self.head_size, vocab_size=self.vocab_size,
            vision_width=self.vision_width, vision_depth=self.vision_depth,
            vision_mlp_width=self.vision_mlp_width, patch_px=self.patch_px,
            image_px=self.image_px)


def is_lerobot_folder(folder: Path) -> bool:
    """True when ``folder/config.json`` names a LeRobot policy type.

    Any type: ``describe_pi0_fast`` refuses the others, naming the supported one.
    """
    path = Path(folder) / 'config.json'
    return path.is_file() and 'type' in read_json(path, what='model config')


def _int(raw: Mapping[str, Any], key: str, where: Path, default: int | None = None) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f'{where}: {key}: {value!r}, expected an integer >= 0')
    return value


def _shape(infos: Mapping[str, TensorInfo], name: str, where: Path) -> tuple[int, ...]:
    if name not in infos:
        raise ConfigError(f'{where}/model.safetensors: no tensor {name!r}; not a LeRobot '
                          'pi0_fast checkpoint')
    return infos[name].shape


def _layers(infos: Mapping[str, TensorInfo], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r'(\d+)\.')
    found = {int(match.group(1)) for name in infos if (match := pattern.match(name))}
    return max(found) + 1 if found else 0


def _check_supported(raw: Mapping[str, Any], where: Path) -> None:
    kind = raw.get('type')
    if kind == _DEPRECATED_TYPE:
        raise ConfigError(f'{where}: "type": "pi0fast" is the deprecated LeRobot <= 0.3 layout '
                          '(statistics inside the weights, no processor files); supported: '
                          f'{LEROBOT_FAST_TYPE!r} (LeRobot >= 0.4; re-save it with lerobot)')
    if kind != LEROBOT_FAST_TYPE:
        raise ConfigError(f'{where}: LeRobot policy type {kind!r} is not a pi0-FAST folder; '
                          f'supported: {LEROBOT_FAST_TYPE!r}')
    modes = raw.get('normalization_mapping', {})
    for key in ('STATE', 'ACTION'):
        if not isinstance(modes, Mapping) or modes.get(key) not in NORM_STATS:
            raise ConfigError(f'{where}: normalization_mapping.{key} is '
                              f'{modes.get(key) if isinstance(modes, Mapping) else modes!r}; '
                              f'supported: {sorted(NORM_STATS)!r}')
    if raw.get('use_relative_actions'):
        raise ConfigError(f'{where}: use_relative_actions is true; not supported yet')
    resolution = raw.get('image_resolution', [224, 224])
    if not isinstance(resolution, list) or len(resolution) != 2 or resolution[0] != resolution[1]:
        raise ConfigError(f'{where}: image_resolution: {resolution!r}, expected square [H, W]')


def _state_width(folder: Path, state_dim: int) -> int:
    """``max(state_dim, max_state_dim)`` of the pre-processor's prepare-state step."""
    path = folder / PREPROCESSOR_FILENAME
    step = processor_step(path, _PREPARE_STATE_STEP, holds='it writes the state into the prompt')
    return max(state_dim, _int(step.get('config', {}), 'max_state_dim', path,
                               LEROBOT_MAX_STATE_DIM))


def _gemma(infos: Mapping[str, TensorInfo], variant: Any, folder: Path) -> tuple[int, ...]:
    if variant not in _GEMMA_VARIANTS and variant != VLA_ROS_VARIANT:
        raise ConfigError(f'{folder}/config.json: paligemma_variant {variant!r}, expected one '
                          f'of {sorted([*_GEMMA_VARIANTS, VLA_ROS_VARIANT])!r}')
    vocab_size, width = _shape(infos, PALIGEMMA_PREFIX + 'lm_head.weight', folder)
    depth = _layers(infos, _TEXT + 'layers.')
    mlp_width = _shape(infos, _TEXT + 'layers.0.mlp.gate_proj.weight', folder)[0]
    # One key/value head (Gemma 2B, 300M and openpi's dummy): k_proj is one head wide.
    head_size = _shape(infos, _TEXT + 'layers.0.self_attn.k_proj.weight', folder)[0]
    heads = _shape(infos, _TEXT + 'layers.0.self_attn.q_proj.weight', folder)[0] // head_size
    found = (width, depth, mlp_width, heads, head_size)
    if variant != VLA_ROS_VARIANT and found != _GEMMA_VARIANTS[variant]:
        raise ConfigError(f'{folder}: config.json names Gemma variant {variant!r} (width, depth, '
                          f'MLP, heads, head size {_GEMMA_VARIANTS[variant]}), '
                          f'model.safetensors has {found}')
    return vocab_size, *found


def _folder_part(folder: Path, name: str, marker: str) -> Path | None:
    path = folder / name
    return path if (path / marker).is_file() else None


def describe_pi0_fast(folder: Path) -> LeRobotPi0Fast:
    """Read a LeRobot pi0-FAST folder's config, architecture and statistics (no weights).

    Raises:
        ConfigError: a missing or unreadable file, an unsupported type or setting, or files
            that disagree; the message names the file.
    """
    folder = Path(folder)
    where = folder / 'config.json'
    raw = read_json(where, what='model config')
    _check_supported(raw, where)
    features = read_features(raw, where)
    image_keys, state_dim, action_dim = (features.image_keys, features.state_dim,
                                         features.action_dim)
    infos = read_tensor_infos(folder)
    vocab_size, width, depth, mlp_width, heads, head_size = _gemma(
        infos, raw.get('paligemma_variant'), folder)
    vision_width, _, patch_px, _ = _shape(infos, _VISION + 'embeddings.patch_embedding.weight',
                                          folder)
    image_px = int(raw.get('image_resolution', [224, 224])[0])
    positions = _shape(infos, _VISION + 'embeddings.position_embedding.weight', folder)[0]
    if vision_width % _SIGLIP_HEAD_SIZE or positions != (image_px // patch_px) ** 2:
        raise ConfigError(f'{folder}: vision tower of width {vision_width} with {positions} '
                          f'positions, expected a multiple of {_SIGLIP_HEAD_SIZE} and '
                          f'({image_px} px / {patch_px} px)^2 positions')
    state_stats, action_stats = read_state_action_stats(folder)
    modes = raw['normalization_mapping']
    for name, stats, dims, mode in (('state', state_stats, state_dim, modes['STATE']),
                                    ('action', action_stats, action_dim, modes['ACTION'])):
        for stat in NORM_STATS[mode]:
            if stat not in stats or stats[stat].shape != (dims,):
                raise ConfigError(f'{folder}: {name} statistic {stat!r} ({mode}) missing or not '
                                  f'{dims} values (config.json says {dims} dimensions)')
    chunk_length = _int(raw, 'chunk_size', where)
    return LeRobotPi0Fast(
        folder=folder, image_keys=image_keys, state_dim=state_dim, action_dim=action_dim,
        state_width=_state_width(folder, state_dim), chunk_length=chunk_length,
        action_steps=_int(raw, 'n_action_steps', where, chunk_length),
        max_decoding_steps=_int(raw, 'max_decoding_steps', where, 256),
        fast_skip_tokens=_int(raw, 'fast_skip_tokens', where, 128), image_px=image_px,
        variant=str(raw['paligemma_variant']), width=width, depth=depth, mlp_width=mlp_width,
        heads=heads, head_size=head_size, vocab_size=vocab_size, vision_width=vision_width,
        vision_depth=_layers(infos, _VISION + 'encoder.layers.'),
        vision_mlp_width=_shape(infos, _VISION + 'encoder.layers.0.mlp.fc1.weight', folder)[0],
        patch_px=patch_px, parameter_count=sum(info.size for info in infos.values()),
        weight_dtypes=tuple(sorted({info.dtype for info in infos.values()})),
        state_mode=str(modes['STATE']), action_mode=str(modes['ACTION']),
        state_stats=state_stats, action_stats=action_stats,
        text_tokenizer=_folder_part(folder, 'tokenizer', 'tokenizer_config.json'),
        action_tokenizer=_folder_part(folder, 'action_tokenizer', 'processor_config.json'),
        action_tokenizer_name=str(raw.get('action_tokenizer_name',
                                          'lerobot/fast-action-tokenizer')))
