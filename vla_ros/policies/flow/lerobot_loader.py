# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Load a LeRobot pi0 folder as it is: model, processor and vla_ros config.

The folder's files say what the model is (``lerobot_pi0.describe_pi0``); the embodiment YAML
says what the folder does not: which joint each state and action dimension is, which camera
each image key is, the control period (``policy.inputs`` / ``policy.outputs``) and where
PaliGemma's tokenizer is (``policy.tokenizer``; the folders carry none). The transformers
config is built from the folder's values and the weights are loaded strictly, under LeRobot's
names (transformers renames them). The image token is PaliGemma's ``<image>``, one past the
vocabulary (257152 for the real model), as LeRobot sets ``image_token_index``.
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

import numpy as np
import torch
from transformers import (
    AutoTokenizer,
    PI0Config,
    PI0ForConditionalGeneration,
    PI0Processor,
    SiglipImageProcessorPil,
)

from vla_ros.core.errors import ConfigError
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.flow.config import FeatureStats, FlowPolicyConfig, Normalization
from vla_ros.policies.flow.lerobot_pi0 import describe_pi0
from vla_ros.policies.flow.processor import FlowProcessor
from vla_ros.policies.flow.strict_loading import load_pi0_strictly

if TYPE_CHECKING:
    from pathlib import Path

    from vla_ros.core.config import PolicyConfig
    from vla_ros.policies.flow.lerobot_pi0 import GemmaShape, LeRobotPi0

__all__ = ['TOKENIZER_HINT', 'flow_config', 'gemma_config', 'load_lerobot_pi0', 'load_tokenizer',
           'mapped_spec', 'paligemma_config', 'pi0_config']

#: Where PaliGemma's tokenizer comes from; the folders carry none.
TOKENIZER_HINT = (
    "PaliGemma's tokenizer is a gated download: accept the licence at "
    'https://huggingface.co/google/paligemma-3b-pt-224, then `hf download '
    "google/paligemma-3b-pt-224 --include 'tokenizer*' 'special_tokens_map.json' "
    '--local-dir DIR` and set policy.tokenizer: DIR')


def gemma_config(shape: GemmaShape) -> dict[str, Any]:
    """The transformers Gemma config values of one of a LeRobot folder's Gemma stacks."""
    return {'model_type': 'gemma', 'hidden_size': shape.width,
            'num_hidden_layers': shape.depth, 'intermediate_size': shape.mlp_width,
            'num_attention_heads': shape.heads, 'num_key_value_heads': 1,
            'head_dim': shape.head_size, 'hidden_activation': 'gelu_pytorch_tanh'}


def paligemma_config(described: LeRobotPi0) -> dict[str, Any]:
    """The transformers PaliGemma config values of a LeRobot folder's VLM (pi0 and pi0.5)."""
    vision = described.vision
    return {
        'model_type': 'paligemma',
        'text_config': {**gemma_config(described.text), 'vocab_size': described.text.vocab_size},
        'vision_config': {
            'model_type': 'siglip_vision_model', 'hidden_size': vision.width,
            'num_hidden_layers': vision.depth, 'intermediate_size': vision.mlp_width,
            'num_attention_heads': vision.heads, 'patch_size': vision.patch_px,
            'image_size': vision.image_px, 'vision_use_head': False},
        'projection_dim': described.text.width,
        'image_token_id': described.text.vocab_size}


def pi0_config(described: LeRobotPi0) -> PI0Config:
    """The transformers config of the model a LeRobot pi0 folder holds."""
    raw = described.model_config
    flow_keys = ('time_sampling_beta_alpha', 'time_sampling_beta_beta', 'time_sampling_scale',
                 'time_sampling_offset', 'min_period', 'max_period')
    config = PI0Config(
        vlm_config=paligemma_config(described),
        dit_config=gemma_config(described.expert), chunk_size=described.chunk_length,
        max_state_dim=described.max_state_dim, max_action_dim=described.max_action_dim,
        num_inference_steps=described.denoising_steps)
    for key in flow_keys:
        if key in raw:
            setattr(config, key, float(raw[key]))
    return config


def _stats(values: dict[str, np.ndarray], where: str) -> FeatureStats:
    if 'mean' not in values or 'std' not in values:
        raise ConfigError(f'{where}: statistics {sorted(values)!r}, MEAN_STD needs mean and std')
    return FeatureStats(mean=tuple(values['mean']), std=tuple(values['std']),
                        q01=tuple(values['q01']) if 'q01' in values else None,
                        q99=tuple(values['q99']) if 'q99' in values else None)


def _camera_names(described: LeRobotPi0, settings: PolicyConfig) -> tuple[str, ...]:
    assert settings.inputs is not None  # checked by the caller
    keys = [key for key, _ in described.image_keys]
    mapping = settings.inputs.cameras
    unknown = sorted(set(mapping) - set(keys))
    unmapped = [key for key in keys if key not in mapping]
    if unknown or unmapped:
        raise ConfigError(
            f'policy.inputs.cameras: {"unknown image keys " + repr(unknown) if unknown else ""}'
            f'{"; " if unknown and unmapped else ""}'
            f'{"no entry for " + repr(unmapped) if unmapped else ""}; the checkpoint\'s image '
            f'keys are {keys!r} (map each to a camera, or to null)')
    # LeRobot puts the present cameras first, in key order; absent ones are masked slots.
    return tuple(camera for key in keys if (camera := mapping[key]) is not None)


def mapped_spec(described: LeRobotPi0, settings: PolicyConfig | None) -> PolicySpec:
    """The contract of a LeRobot folder (pi0 or pi0.5) under the YAML's ``policy`` mapping.

    Raises:
        ConfigError: no mapping, joint lists of the wrong length, or image keys that are not
            the checkpoint's; one line each, naming the field.
    """
    if settings is None or settings.inputs is None or settings.outputs is None:
        raise ConfigError(
            f'policy.inputs/policy.outputs: {described.folder} is a LeRobot '
            f'{described.policy_type} folder, which does not say which joint or camera is '
            f'which; run `vla-ros inspect {described.folder}` for a block to paste into the '
            'config')
    for where, joints, width in (
            ('policy.inputs.state', settings.inputs.state, described.state_dim),
            ('policy.outputs.joints', settings.outputs.joints, described.action_dim)):
        if len(joints) != width:
            raise ConfigError(f'{where}: {len(joints)} joints {list(joints)!r}, the checkpoint '
                              f'has {width} dimensions')
    return PolicySpec(joint_names=settings.outputs.joints,
                      camera_names=_camera_names(described, settings),
                      image_height=described.image_px, image_width=described.image_px,
                      chunk_length=described.chunk_length, dt_s=settings.outputs.dt_s)


def flow_config(described: LeRobotPi0, settings: PolicyConfig | None) -> FlowPolicyConfig:
    """The vla_ros config of a LeRobot pi0 folder under the YAML's ``policy`` mapping.

    Raises:
        ConfigError: as ``mapped_spec``, or statistics without mean and std.
    """
    spec = mapped_spec(described, settings)
    assert settings is not None and settings.inputs is not None  # checked by mapped_spec
    normalization = Normalization(
        state=_stats(dict(described.state_stats), 'policy_preprocessor observation.state'),
        actions=_stats(dict(described.action_stats), 'policy_postprocessor action'))
    return FlowPolicyConfig(spec=spec, normalization=normalization,
                            num_denoising_steps=described.denoising_steps,
                            state_joint_names=settings.inputs.state)


def load_tokenizer(described: LeRobotPi0, tokenizer_dir: Path | None) -> Any:
    """PaliGemma's tokenizer from ``policy.tokenizer`` (LeRobot folders carry none).

    Raises:
        ConfigError: not set, or no readable tokenizer there; the message says where to get it.
    """
    if tokenizer_dir is None:
        raise ConfigError(f'policy.tokenizer: not set, and {described.folder} (a LeRobot '
                          f'{described.policy_type} folder) has no tokenizer; {TOKENIZER_HINT}')
    try:
        return AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ConfigError(f'policy.tokenizer: {str(tokenizer_dir)!r} holds no readable '
                          f'tokenizer ({type(err).__name__}); {TOKENIZER_HINT}') from err


def _processor(described: LeRobotPi0, config: FlowPolicyConfig,
               tokenizer_dir: Path | None) -> FlowProcessor:
    tokenizer = load_tokenizer(described, tokenizer_dir)
    vision = described.vision
    image_processor = SiglipImageProcessorPil(
        size={'height': vision.image_px, 'width': vision.image_px},
        image_seq_length=(vision.image_px // vision.patch_px) ** 2)
    hf_processor = PI0Processor(image_processor=image_processor, tokenizer=tokenizer,
                                max_state_dim=described.max_state_dim,
                                chunk_size=described.chunk_length)
    return FlowProcessor(config, hf_processor, max_state_dim=described.max_state_dim,
                         max_action_dim=described.max_action_dim)


def load_lerobot_pi0(folder: Path, settings: PolicyConfig | None, *, dtype: torch.dtype
                     ) -> tuple[PI0ForConditionalGeneration, FlowProcessor, FlowPolicyConfig]:
    """Read, map and load a LeRobot pi0 folder (on the CPU; the caller moves the model).

    Raises:
        ConfigError: an unsupported or inconsistent folder, a missing or wrong YAML mapping,
            a missing tokenizer, or weights that do not match exactly.
    """
    described = describe_pi0(folder)
    config = flow_config(described, settings)
    processor = _processor(described, config, None if settings is None else settings.tokenizer)
    model = load_pi0_strictly(folder, dtype=dtype, config=pi0_config(described))
    return model, processor, config
