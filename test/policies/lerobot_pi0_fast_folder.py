# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A miniature LeRobot pi0-FAST folder in the published layout, with planted weights.

``write_pi0_fast_folder`` writes what ``lerobot-train`` (0.6) writes for ``pi0_fast``: the
real file names, config keys and tensor names (``model.paligemma_with_expert.paligemma.*``,
the token embedding saved once, as ``lm_head``), the processor pipelines with their
normalizer ``.safetensors``, ``tokenizer/`` (a small text tokenizer laid out like
PaliGemma's: <locNNNN> and <segNNN> at the end of the base vocabulary) and ``action_tokenizer/``
(a FAST tokenizer in the released format, fitted here). The Gemma is openpi's ``dummy``
variant. Its weights are random except that every attention and MLP output projection is zero
and the tied embedding is planted so that each token of one chain scores its successor
highest: after the prompt's final ``<bos>`` the model emits ``Action: ``, the planted FAST
ids and ``|``, so greedy decoding yields a known chunk (``PLANTED``).
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch
from tokenizers import decoders, models, pre_tokenizers, processors, Tokenizer, trainers
import torch
from transformers import (
    PaliGemmaConfig,
    PaliGemmaForConditionalGeneration,
    PreTrainedTokenizerFast,
)

from vla_ros.policies.fast.released_tokenizer import ReleasedFastTokenizer

IMAGE_KEYS = ('observation.images.base_0_rgb', 'observation.images.left_wrist_0_rgb',
              'observation.images.right_wrist_0_rgb')
STATE_DIM = ACTION_DIM = 7
CHUNK_SIZE = 5
IMAGE_PX = 56
SKIP = 128
STATE_MEAN = tuple(0.1 * index for index in range(STATE_DIM))
ACTION_MEAN = tuple(0.1 * index for index in range(ACTION_DIM))
MOTION_STD = 0.05
PREFIX = 'model.paligemma_with_expert.paligemma.'
_GEMMA = {'model_type': 'gemma', 'hidden_size': 64, 'num_hidden_layers': 4,
          'intermediate_size': 128, 'num_attention_heads': 8, 'num_key_value_heads': 1,
          'head_dim': 16, 'hidden_activation': 'gelu_pytorch_tanh'}
_CORPUS = ('Task: pick up the red cube, State: 1 2 3;\nAction: |', 'touch the blue cube',
           'open the gripper', 'move left', ' '.join(str(n) for n in range(256)))


@dataclass(frozen=True, slots=True)
class Planted:
    """What the planted model emits: FAST ids, and the normalized chunk they decode to."""

    fast_ids: tuple[int, ...]
    normalized_chunk: np.ndarray


def write_text_tokenizer(out_dir: Path) -> PreTrainedTokenizerFast:
    """A byte-level BPE whose base vocabulary ends with 1024 <loc> and 128 <seg> tokens."""
    tokenizer = Tokenizer(models.BPE(unk_token='<unk>'))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(_CORPUS, trainers.BpeTrainer(
        vocab_size=320, special_tokens=['<pad>', '<eos>', '<bos>', '<unk>'],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    raw = json.loads(tokenizer.to_str())
    vocab = raw['model']['vocab']
    for name in [f'<loc{i:0>4}>' for i in range(1024)] + [f'<seg{i:0>3}>' for i in range(128)]:
        vocab[name] = len(vocab)
    extended = Tokenizer.from_str(json.dumps(raw))
    # As PaliGemma's: encoding a text adds <bos> in front.
    extended.post_processor = processors.TemplateProcessing(
        single='<bos> $A', special_tokens=[('<bos>', vocab['<bos>'])])
    fast = PreTrainedTokenizerFast(tokenizer_object=extended, pad_token='<pad>',
                                   eos_token='<eos>', bos_token='<bos>', unk_token='<unk>')
    fast.save_pretrained(out_dir)
    return fast


def _fast_tokenizer(seed: int) -> ReleasedFastTokenizer:
    rng = np.random.default_rng(seed)
    shape = (400, CHUNK_SIZE, ACTION_DIM)
    walks = rng.uniform(-0.5, 0.5, (400, 1, ACTION_DIM)) + np.cumsum(rng.normal(0, 0.05, shape),
                                                                      1)
    return ReleasedFastTokenizer.fit(np.clip(walks, -1, 1), vocab_size=1024)


def _plant(fast: ReleasedFastTokenizer, seed: int) -> Planted:
    """The first seeded chunk whose FAST ids are all different (a chain visits each once)."""
    rng = np.random.default_rng(seed + 1)
    for _ in range(200):
        chunk = np.clip(rng.uniform(-0.6, 0.6, (1, ACTION_DIM))
                        + np.cumsum(rng.normal(0, 0.05, (CHUNK_SIZE, ACTION_DIM)), 0), -1, 1)
        ids = fast.encode(chunk)
        if len(set(ids.tolist())) == ids.size <= 40:
            return Planted(tuple(int(i) for i in ids), fast.decode(ids))
    raise AssertionError('no chunk with distinct FAST ids')


def _weights(vocab_size: int, chain: list[int], seed: int) -> dict[str, torch.Tensor]:
    vision = {'model_type': 'siglip_vision_model', 'hidden_size': 72, 'num_hidden_layers': 1,
              'intermediate_size': 144, 'num_attention_heads': 1, 'patch_size': 14,
              'image_size': IMAGE_PX, 'vision_use_head': False}
    config = PaliGemmaConfig(text_config={**_GEMMA, 'vocab_size': vocab_size},
                             vision_config=vision, projection_dim=64, hidden_size=64,
                             image_token_index=vocab_size, vocab_size=vocab_size)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = PaliGemmaForConditionalGeneration(config)
    state = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    for name in state:
        if name.endswith(('self_attn.o_proj.weight', 'mlp.down_proj.weight')) and (
                'language_model' in name):
            state[name].zero_()
    embedding = torch.zeros(vocab_size, 64)
    for index, token in enumerate(chain):  # token i: s_i (e_i + e_i+1), s_i+1 = 2.5 s_i
        embedding[token, index:index + 2] = 2.5 ** index
    state['lm_head.weight'] = embedding
    del state['model.language_model.embed_tokens.weight']  # tied: LeRobot saves lm_head only
    vision = 'model.vision_tower.'  # LeRobot's names keep SigLIP's vision_model level
    return {PREFIX + name.replace(vision, vision + 'vision_model.'): tensor.contiguous()
            for name, tensor in state.items()}


def _config() -> dict[str, Any]:
    visual = {key: {'type': 'VISUAL', 'shape': [3, IMAGE_PX, IMAGE_PX]} for key in IMAGE_KEYS}
    return {
        'type': 'pi0_fast', 'n_obs_steps': 1,
        'input_features': {**visual,
                           'observation.state': {'type': 'STATE', 'shape': [STATE_DIM]}},
        'output_features': {'action': {'type': 'ACTION', 'shape': [ACTION_DIM]}},
        'device': 'cpu', 'use_amp': False, 'paligemma_variant': 'dummy',
        'action_expert_variant': 'gemma_300m', 'dtype': 'float32', 'chunk_size': CHUNK_SIZE,
        'n_action_steps': CHUNK_SIZE, 'max_state_dim': 32, 'max_action_dim': 32,
        'max_action_tokens': 256, 'use_relative_actions': False, 'rtc_config': None,
        'image_resolution': [IMAGE_PX, IMAGE_PX], 'empty_cameras': 0,
        'tokenizer_max_length': 200, 'text_tokenizer_name': 'google/paligemma-3b-pt-224',
        'action_tokenizer_name': 'lerobot/fast-action-tokenizer', 'temperature': 0.0,
        'max_decoding_steps': 64, 'fast_skip_tokens': SKIP,
        'validate_action_token_prefix': True, 'use_kv_cache': True,
        'normalization_mapping': {'VISUAL': 'IDENTITY', 'STATE': 'MEAN_STD',
                                  'ACTION': 'MEAN_STD'},
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
    pre_state = 'policy_preprocessor_step_3_normalizer_processor.safetensors'
    post_state = 'policy_postprocessor_step_0_unnormalizer_processor.safetensors'
    preprocessor = {'name': 'policy_preprocessor', 'steps': [
        {'registry_name': 'rename_observations_processor', 'config': {'rename_map': {}}},
        {'registry_name': 'to_batch_processor', 'config': {}},
        {'registry_name': 'relative_actions_processor', 'config': {'enabled': False}},
        {'registry_name': 'normalizer_processor', 'config': norm, 'state_file': pre_state},
        {'registry_name': 'pi0_fast_prepare_state_tokenizer_processor_step',
         'config': {'max_state_dim': 32, 'task_key': 'task'}},
        {'registry_name': 'tokenizer_processor', 'config': {
            'max_length': 200, 'task_key': 'task', 'padding_side': 'right',
            'padding': 'max_length', 'truncation': True, 'tokenizer_name': 'tokenizer'}},
        {'registry_name': 'action_tokenizer_processor', 'config': {
            'trust_remote_code': True, 'max_action_tokens': 256, 'fast_skip_tokens': SKIP,
            'action_tokenizer_name': 'action_tokenizer'}},
        {'registry_name': 'device_processor', 'config': {'device': 'cpu', 'float_dtype': None}}]}
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


def write_pi0_fast_folder(folder: Path, *, seed: int = 0) -> Planted:
    """Write the miniature (module doc) into ``folder``; returns what the model emits."""
    folder.mkdir(parents=True, exist_ok=True)
    text = write_text_tokenizer(folder / 'tokenizer')
    fast = _fast_tokenizer(seed)
    fast.save(folder / 'action_tokenizer')
    planted = _plant(fast, seed)
    last_fast_id = text.vocab_size - 1 - SKIP
    chain = [text.bos_token_id, *text.encode('Action: ', add_special_tokens=False),
             *(last_fast_id - f for f in planted.fast_ids),
             *text.encode('|', add_special_tokens=False)]
    assert len(set(chain)) == len(chain) <= 63, chain
    save_torch(_weights(text.vocab_size, chain, seed), str(folder / 'model.safetensors'))
    (folder / 'config.json').write_text(json.dumps(_config(), indent=4))
    _write_pipelines(folder)
    return planted
