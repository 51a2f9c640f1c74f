# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A miniature LeRobot pi0.5 folder in the published layout, written with numpy only.

``write_pi05_folder`` writes what LeRobot's ``PI05Policy.save_pretrained`` and its processor
pipelines write, with the real file names, config keys and tensor names (checked against
LeRobot 0.4.4 itself by ``tools/make_pi05_fixture.py``), but tiny sizes: openpi's ``dummy``
Gemma variant (width 64, 4 layers, 8 query heads and 1 key/value head of 16) for the language
model and the action expert, a one-layer SigLIP tower 72 wide with 14 px patches on 56 px
images, a small vocabulary. Weights are seeded random normals, drawn in the table's order, so
the folder is the same bytes wherever it is written; only numpy and safetensors are needed, so
the reference tool runs it in its own environment. Files: ``config.json`` (``"type":
"pi05"``), ``model.safetensors`` (``model.paligemma_with_expert.*``, the expert's norms as
adaRMS ``dense`` layers, ``model.time_mlp_*``, no ``state_proj``), ``policy_preprocessor.json``
and ``policy_postprocessor.json`` with their normaliser ``.safetensors`` (QUANTILES: q01/q99).
No tokenizer, as published (``lerobot_pi0_folder.write_paligemma_style_tokenizer`` writes one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file

IMAGE_KEYS = ('observation.images.base_0_rgb', 'observation.images.left_wrist_0_rgb',
              'observation.images.right_wrist_0_rgb')
STATE_DIM = 7
ACTION_DIM = 7
CHUNK_SIZE = 10
IMAGE_PX = 56
MAX_DIM = 32
TOKENIZER_MAX_LENGTH = 200
#: Statistics written: means 0.1 * index, q01/q99 at mean -/+ 0.9 (rad), std 0.05.
STATE_MEAN = tuple(0.1 * index for index in range(STATE_DIM))
ACTION_MEAN = tuple(0.1 * index for index in range(ACTION_DIM))
QUANTILE_HALF_RANGE = 0.9
_WIDTH, _DEPTH, _MLP, _HEADS, _HEAD = 64, 4, 128, 8, 16
_VISION_WIDTH, _VISION_MLP, _PATCH = 72, 144, 14
_VLM = 'model.paligemma_with_expert.paligemma.'
_EXPERT = 'model.paligemma_with_expert.gemma_expert.'
_VISION = _VLM + 'model.vision_tower.vision_model.'


def _gemma_layer(prefix: str, *, adaptive: bool) -> list[tuple[str, tuple[int, ...], str]]:
    rows: list[tuple[str, tuple[int, ...], str]] = [
        (f'{prefix}self_attn.q_proj.weight', (_HEADS * _HEAD, _WIDTH), 'linear'),
        (f'{prefix}self_attn.k_proj.weight', (_HEAD, _WIDTH), 'linear'),
        (f'{prefix}self_attn.v_proj.weight', (_HEAD, _WIDTH), 'linear'),
        (f'{prefix}self_attn.o_proj.weight', (_WIDTH, _HEADS * _HEAD), 'linear'),
        (f'{prefix}mlp.gate_proj.weight', (_MLP, _WIDTH), 'linear'),
        (f'{prefix}mlp.up_proj.weight', (_MLP, _WIDTH), 'linear'),
        (f'{prefix}mlp.down_proj.weight', (_WIDTH, _MLP), 'linear')]
    for norm in ('input_layernorm', 'post_attention_layernorm'):
        rows += _norm(prefix + norm, adaptive=adaptive)
    return rows


def _norm(prefix: str, *, adaptive: bool) -> list[tuple[str, tuple[int, ...], str]]:
    if adaptive:  # adaRMS: a dense layer maps the time embedding to scale, shift and gate
        return [(f'{prefix}.dense.weight', (3 * _WIDTH, _WIDTH), 'adaptive'),
                (f'{prefix}.dense.bias', (3 * _WIDTH,), 'bias')]
    return [(f'{prefix}.weight', (_WIDTH,), 'rms')]


def _linear(name: str, out_dim: int, in_dim: int) -> list[tuple[str, tuple[int, ...], str]]:
    return [(f'{name}.weight', (out_dim, in_dim), 'linear'), (f'{name}.bias', (out_dim,), 'bias')]


def tensor_table(vocab_size: int) -> list[tuple[str, tuple[int, ...], str]]:
    """(LeRobot name, shape, kind) of every tensor of the miniature, in writing order."""
    positions = (IMAGE_PX // _PATCH) ** 2
    vision = [(_VISION + 'embeddings.patch_embedding.weight',
               (_VISION_WIDTH, 3, _PATCH, _PATCH), 'linear'),
              (_VISION + 'embeddings.patch_embedding.bias', (_VISION_WIDTH,), 'bias'),
              (_VISION + 'embeddings.position_embedding.weight', (positions, _VISION_WIDTH),
               'bias')]
    layer = _VISION + 'encoder.layers.0.'
    for norm in ('layer_norm1', 'layer_norm2'):
        vision += [(f'{layer}{norm}.weight', (_VISION_WIDTH,), 'layer_norm'),
                   (f'{layer}{norm}.bias', (_VISION_WIDTH,), 'bias')]
    for proj in ('q_proj', 'k_proj', 'v_proj', 'out_proj'):
        vision += _linear(f'{layer}self_attn.{proj}', _VISION_WIDTH, _VISION_WIDTH)
    vision += _linear(f'{layer}mlp.fc1', _VISION_MLP, _VISION_WIDTH)
    vision += _linear(f'{layer}mlp.fc2', _VISION_WIDTH, _VISION_MLP)
    vision += [(_VISION + 'post_layernorm.weight', (_VISION_WIDTH,), 'layer_norm'),
               (_VISION + 'post_layernorm.bias', (_VISION_WIDTH,), 'bias')]
    vision += _linear(_VLM + 'model.multi_modal_projector.linear', _WIDTH, _VISION_WIDTH)
    text = [row for index in range(_DEPTH) for row in _gemma_layer(
        f'{_VLM}model.language_model.layers.{index}.', adaptive=False)]
    text += _norm(_VLM + 'model.language_model.norm', adaptive=False)
    text.append((_VLM + 'lm_head.weight', (vocab_size, _WIDTH), 'embedding'))
    expert = [row for index in range(_DEPTH) for row in _gemma_layer(
        f'{_EXPERT}model.layers.{index}.', adaptive=True)]
    expert += _norm(_EXPERT + 'model.norm', adaptive=True)
    expert.append((_EXPERT + 'lm_head.weight', (vocab_size, _WIDTH), 'embedding'))
    heads = (_linear('model.action_in_proj', _WIDTH, MAX_DIM)
             + _linear('model.action_out_proj', MAX_DIM, _WIDTH)
             + _linear('model.time_mlp_in', _WIDTH, _WIDTH)
             + _linear('model.time_mlp_out', _WIDTH, _WIDTH))
    return vision + text + expert + heads


def random_weights(vocab_size: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded float32 weights for ``tensor_table`` (scales keep activations near unit size)."""
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape, kind in tensor_table(vocab_size):
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        scale = {'linear': fan_in ** -0.5, 'adaptive': 0.5 * fan_in ** -0.5, 'bias': 0.02,
                 'rms': 0.1, 'layer_norm': 0.05, 'embedding': _WIDTH ** -0.5}[kind]
        values = rng.normal(0.0, scale, shape)
        if kind == 'layer_norm':
            values += 1.0
        weights[name] = values.astype(np.float32)
    return weights


def lerobot_config(*, tokenizer_max_length: int = TOKENIZER_MAX_LENGTH) -> dict[str, Any]:
    """``config.json`` as LeRobot 0.4.4 writes it for this miniature."""
    visual = {key: {'type': 'VISUAL', 'shape': [3, IMAGE_PX, IMAGE_PX]} for key in IMAGE_KEYS}
    return {
        'type': 'pi05', 'n_obs_steps': 1,
        'input_features': {**visual,
                           'observation.state': {'type': 'STATE', 'shape': [STATE_DIM]}},
        'output_features': {'action': {'type': 'ACTION', 'shape': [ACTION_DIM]}},
        'device': 'cpu', 'use_amp': False, 'use_peft': False, 'push_to_hub': True,
        'repo_id': None, 'private': None, 'tags': None, 'license': None,
        'pretrained_path': None, 'paligemma_variant': 'dummy', 'action_expert_variant': 'dummy',
        'dtype': 'float32', 'chunk_size': CHUNK_SIZE, 'n_action_steps': 5,
        'max_state_dim': MAX_DIM, 'max_action_dim': MAX_DIM, 'num_inference_steps': 10,
        'time_sampling_beta_alpha': 1.5, 'time_sampling_beta_beta': 1.0,
        'time_sampling_scale': 0.999, 'time_sampling_offset': 0.001, 'min_period': 0.004,
        'max_period': 4.0, 'rtc_config': None, 'image_resolution': [IMAGE_PX, IMAGE_PX],
        'empty_cameras': 0, 'tokenizer_max_length': tokenizer_max_length,
        'normalization_mapping': {'VISUAL': 'IDENTITY', 'STATE': 'QUANTILES',
                                  'ACTION': 'QUANTILES'},
        'gradient_checkpointing': False, 'compile_model': False, 'compile_mode': 'max-autotune',
        'freeze_vision_encoder': False, 'train_expert_only': False, 'optimizer_lr': 2.5e-05,
        'optimizer_betas': [0.9, 0.95], 'optimizer_eps': 1e-08, 'optimizer_weight_decay': 0.01,
        'optimizer_grad_clip_norm': 1.0, 'scheduler_warmup_steps': 1000,
        'scheduler_decay_steps': 30000, 'scheduler_decay_lr': 2.5e-06,
    }


def _stats(mean: tuple[float, ...]) -> dict[str, np.ndarray]:
    values = np.asarray(mean, dtype=np.float32)
    return {'mean': values, 'std': np.full_like(values, 0.05), 'min': values - 1.0,
            'max': values + 1.0, 'q01': values - QUANTILE_HALF_RANGE,
            'q99': values + QUANTILE_HALF_RANGE}


def _write_pipelines(folder: Path, config: dict[str, Any]) -> None:
    features = {**config['input_features'], **config['output_features']}
    norm_map = config['normalization_mapping']
    pre_state = 'policy_preprocessor_step_2_normalizer_processor.safetensors'
    post_state = 'policy_postprocessor_step_0_unnormalizer_processor.safetensors'
    device = {'registry_name': 'device_processor', 'config': {'device': 'cpu',
                                                              'float_dtype': None}}
    preprocessor = {'name': 'policy_preprocessor', 'steps': [
        {'registry_name': 'rename_observations_processor', 'config': {'rename_map': {}}},
        {'registry_name': 'to_batch_processor', 'config': {}},
        {'registry_name': 'normalizer_processor',
         'config': {'eps': 1e-08, 'features': features, 'norm_map': norm_map},
         'state_file': pre_state},
        {'registry_name': 'pi05_prepare_state_tokenizer_processor_step', 'config': {}},
        {'registry_name': 'tokenizer_processor', 'config': {
            'max_length': config['tokenizer_max_length'], 'task_key': 'task',
            'padding_side': 'right', 'padding': 'max_length', 'truncation': True,
            'tokenizer_name': 'google/paligemma-3b-pt-224'}},
        device]}
    postprocessor = {'name': 'policy_postprocessor', 'steps': [
        {'registry_name': 'unnormalizer_processor',
         'config': {'eps': 1e-08, 'features': config['output_features'], 'norm_map': norm_map},
         'state_file': post_state},
        device]}
    stats = {**{f'observation.state.{k}': v for k, v in _stats(STATE_MEAN).items()},
             **{f'action.{k}': v for k, v in _stats(ACTION_MEAN).items()}}
    save_file(stats, str(folder / pre_state))
    save_file(stats, str(folder / post_state))
    for name, pipeline in (('policy_preprocessor.json', preprocessor),
                           ('policy_postprocessor.json', postprocessor)):
        (folder / name).write_text(json.dumps(pipeline, indent=2))


def write_pi05_folder(folder: Path, *, vocab_size: int, seed: int = 0,
                      tokenizer_max_length: int = TOKENIZER_MAX_LENGTH) -> Path:
    """Write the miniature LeRobot pi0.5 folder (see the module doc) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file(random_weights(vocab_size, seed), str(folder / 'model.safetensors'),
              metadata={'format': 'pt'})
    config = lerobot_config(tokenizer_max_length=tokenizer_max_length)
    (folder / 'config.json').write_text(json.dumps(config, indent=4))
    _write_pipelines(folder, config)
    return folder
