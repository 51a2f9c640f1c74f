# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A miniature LeRobot pi0 folder, in the published layout, made here from transformers modules.

``write_pi0_folder`` writes what ``lerobot-train`` writes for pi0, with the real file names,
config keys and tensor names, but openpi's ``dummy`` Gemma variant (width 64, 4 layers) for the
language model and the expert, a one-layer SigLIP tower 72 wide, 56 px images and a small
vocabulary, random weights: ``config.json`` (``"type": "pi0"``), ``model.safetensors``
(``model.paligemma_with_expert.*``, ``model.state_proj.*``, ...), ``policy_preprocessor.json``
and ``policy_postprocessor.json`` with their normalizer ``.safetensors``. No tokenizer, as
published; ``write_paligemma_style_tokenizer`` writes a small one shaped like PaliGemma's (the
<locNNNN>/<segNNN> tokens inside the vocabulary, <image> one past it) into another folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch
from tokenizers import decoders, models, pre_tokenizers, Tokenizer, trainers
import torch
from transformers import PreTrainedTokenizerFast

IMAGE_KEYS = ('observation.images.base_0_rgb', 'observation.images.left_wrist_0_rgb',
              'observation.images.right_wrist_0_rgb')
STATE_DIM = 7
ACTION_DIM = 7
CHUNK_SIZE = 10
IMAGE_PX = 56
#: The statistics written: state and action means 0.1 * index, stds 0.05 (rad).
STATE_MEAN = tuple(0.1 * index for index in range(STATE_DIM))
ACTION_MEAN = tuple(0.1 * index for index in range(ACTION_DIM))
MOTION_STD = 0.05
_DUMMY_GEMMA = {'model_type': 'gemma', 'hidden_size': 64, 'num_hidden_layers': 4,
                'intermediate_size': 128, 'num_attention_heads': 8, 'num_key_value_heads': 1,
                'head_dim': 16, 'hidden_activation': 'gelu_pytorch_tanh'}
_CORPUS = ('pick up the red cube', 'touch the blue cube', 'open the gripper', 'move left')


def write_paligemma_style_tokenizer(out_dir: Path) -> int:
    """Write a small tokenizer laid out like PaliGemma's; returns its vocabulary size.

    The vocabulary holds the text tokens and the 1024 <locNNNN> and 128 <segNNN> tokens;
    ``<image>`` is added by the processor, one past the vocabulary, as in PaliGemma's.
    """
    tokenizer = Tokenizer(models.BPE(unk_token='<unk>'))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(_CORPUS, trainers.BpeTrainer(
        vocab_size=320, special_tokens=['<pad>', '<eos>', '<bos>', '<unk>'],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token='<pad>',
                                   eos_token='<eos>', bos_token='<bos>', unk_token='<unk>')
    fast.add_tokens([f'<loc{i:0>4}>' for i in range(1024)] + [f'<seg{i:0>3}>' for i in range(128)])
    fast.save_pretrained(out_dir)
    return len(fast)


def _lerobot_name(name: str) -> str:
    """Map a transformers PI0 tensor name to the name LeRobot's PI0Policy saves it under."""
    vlm = 'model.paligemma_with_expert.paligemma.'
    expert = 'model.paligemma_with_expert.gemma_expert.'
    renames = (
        ('model.vlm.language_model.embed_tokens.', vlm + 'lm_head.'),
        ('model.dit.embed_tokens.', expert + 'lm_head.'),
        ('model.vlm.vision_tower.', vlm + 'model.vision_tower.vision_model.'),
        ('model.vlm.', vlm + 'model.'), ('model.dit.', expert + 'model.'),
        ('embed_action_time.', 'model.'), ('action_out_proj.', 'model.action_out_proj.'))
    for old, new in renames:
        if name.startswith(old):
            return new + name[len(old):]
    raise AssertionError(f'unmapped tensor {name}')


def _lerobot_config() -> dict[str, Any]:
    visual = {key: {'type': 'VISUAL', 'shape': [3, IMAGE_PX, IMAGE_PX]} for key in IMAGE_KEYS}
    return {
        'type': 'pi0', 'n_obs_steps': 1,
        'input_features': {**visual,
                           'observation.state': {'type': 'STATE', 'shape': [STATE_DIM]}},
        'output_features': {'action': {'type': 'ACTION', 'shape': [ACTION_DIM]}},
        'device': 'cpu', 'use_amp': False, 'use_peft': False, 'push_to_hub': False,
        'repo_id': None, 'private': None, 'tags': None, 'license': None,
        'pretrained_path': None, 'paligemma_variant': 'dummy', 'action_expert_variant': 'dummy',
        'dtype': 'float32', 'chunk_size': CHUNK_SIZE, 'n_action_steps': 5, 'max_state_dim': 32,
        'max_action_dim': 32, 'num_inference_steps': 10, 'time_sampling_beta_alpha': 1.5,
        'time_sampling_beta_beta': 1.0, 'time_sampling_scale': 0.999,
        'time_sampling_offset': 0.001, 'min_period': 0.004, 'max_period': 4.0,
        'use_relative_actions': False, 'relative_exclude_joints': ['gripper'],
        'action_feature_names': None, 'rtc_config': None,
        'image_resolution': [IMAGE_PX, IMAGE_PX], 'empty_cameras': 0,
        'normalization_mapping': {'VISUAL': 'IDENTITY', 'STATE': 'MEAN_STD',
                                  'ACTION': 'MEAN_STD'},
        'gradient_checkpointing': False, 'compile_model': False, 'compile_mode': 'max-autotune',
        'freeze_vision_encoder': False, 'train_expert_only': False, 'optimizer_lr': 2.5e-05,
        'optimizer_betas': [0.9, 0.95], 'optimizer_eps': 1e-08, 'optimizer_weight_decay': 0.01,
        'optimizer_grad_clip_norm': 1.0, 'scheduler_warmup_steps': 1000,
        'scheduler_decay_steps': 30000, 'scheduler_decay_lr': 2.5e-06,
        'tokenizer_max_length': 48,
    }


def _stats(mean: tuple[float, ...]) -> dict[str, np.ndarray]:
    values = np.asarray(mean, dtype=np.float32)
    return {'mean': values, 'std': np.full_like(values, MOTION_STD),
            'min': values - 1.0, 'max': values + 1.0, 'q01': values - 0.9, 'q99': values + 0.9}


def _write_pipelines(folder: Path) -> None:
    features = {'observation.state': {'type': 'STATE', 'shape': [STATE_DIM]},
                'action': {'type': 'ACTION', 'shape': [ACTION_DIM]}}
    norm = {'eps': 1e-08, 'features': features,
            'norm_map': {'VISUAL': 'IDENTITY', 'STATE': 'MEAN_STD', 'ACTION': 'MEAN_STD'}}
    pre_state = 'policy_preprocessor_step_5_normalizer_processor.safetensors'
    post_state = 'policy_postprocessor_step_0_unnormalizer_processor.safetensors'
    preprocessor = {'name': 'policy_preprocessor', 'steps': [
        {'registry_name': 'rename_observations_processor', 'config': {'rename_map': {}}},
        {'registry_name': 'to_batch_processor', 'config': {}},
        {'registry_name': 'pi0_new_line_processor', 'config': {}},
        {'registry_name': 'tokenizer_processor', 'config': {
            'max_length': 48, 'task_key': 'task', 'padding_side': 'right',
            'padding': 'max_length', 'truncation': True,
            'tokenizer_name': 'google/paligemma-3b-pt-224'}},
        {'registry_name': 'device_processor', 'config': {'device': 'cpu', 'float_dtype': None}},
        {'registry_name': 'normalizer_processor', 'config': norm, 'state_file': pre_state}]}
    postprocessor = {'name': 'policy_postprocessor', 'steps': [
        {'registry_name': 'unnormalizer_processor', 'config': norm, 'state_file': post_state},
        {'registry_name': 'device_processor', 'config': {'device': 'cpu', 'float_dtype': None}}]}
    state = {f'observation.state.{k}': v for k, v in _stats(STATE_MEAN).items()}
    actions = {f'action.{k}': v for k, v in _stats(ACTION_MEAN).items()}
    save_numpy({**state, **actions}, str(folder / pre_state))
    save_numpy({**state, **actions}, str(folder / post_state))
    for name, pipeline in (('policy_preprocessor.json', preprocessor),
                           ('policy_postprocessor.json', postprocessor)):
        (folder / name).write_text(json.dumps(pipeline, indent=2))


def write_pi0_folder(folder: Path, *, vocab_size: int, seed: int = 0) -> Path:
    """Write the miniature LeRobot pi0 folder (see the module doc) into ``folder``."""
    # Imported here so that the tokenizer writer also runs next to transformers without PI0
    # (``tools/make_pi05_fixture.py``'s reference environment).
    from transformers import PI0Config, PI0ForConditionalGeneration

    vision = {'model_type': 'siglip_vision_model', 'hidden_size': 72, 'num_hidden_layers': 1,
              'intermediate_size': 144, 'num_attention_heads': 1, 'patch_size': 14,
              'image_size': IMAGE_PX, 'vision_use_head': False}
    config = PI0Config(
        vlm_config={'model_type': 'paligemma',
                    'text_config': {**_DUMMY_GEMMA, 'vocab_size': vocab_size},
                    'vision_config': vision, 'projection_dim': 64,
                    'image_token_id': vocab_size},
        dit_config=_DUMMY_GEMMA, chunk_size=CHUNK_SIZE)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = PI0ForConditionalGeneration(config)
    folder.mkdir(parents=True, exist_ok=True)
    save_torch({_lerobot_name(name): tensor.contiguous()
                for name, tensor in model.state_dict().items()}, str(folder / 'model.safetensors'))
    (folder / 'config.json').write_text(json.dumps(_lerobot_config(), indent=4))
    _write_pipelines(folder)
    return folder
