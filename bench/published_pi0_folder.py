# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0 folder in the published layout at any size: full (``lerobot/pi0_base``) or tiny.

``write_pi0_folder`` writes what ``lerobot-train`` writes for pi0, with the real file names,
``config.json`` keys and tensor names, random weights made on the given device and dtype:
``config.json`` (``"type": "pi0"``), ``model.safetensors`` (``model.paligemma_with_expert.*``,
``model.state_proj.*``, ...), ``policy_preprocessor.json`` and ``policy_postprocessor.json`` with
their normalizer ``.safetensors``. ``FULL_SIZE`` is pi0_base's architecture (PaliGemma: SigLIP
So400m/14 at 224 px, Gemma 2B, vocabulary 257152; expert Gemma 300M; chunk 50, 32 padded
dims) for a 14-joint bimanual arm with three cameras; ``TINY`` is the test miniature's model.
``write_paligemma_style_tokenizer`` writes a small BPE tokenizer padded to a given vocabulary
(the <locNNNN>/<segNNN> tokens at its end, ``<image>`` one past it, as PaliGemma's).

Duplication, on purpose: the tensor renaming, the config keys and the pipelines repeat
``test/policies/lerobot_pi0_folder.py`` (a test helper fixed at the miniature's sizes, which
this bench must not edit), and the Gemma variant table repeats openpi's numbers that
``vla_ros.policies.flow.lerobot_pi0`` also holds (the loader is what this writer checks, so it
must not borrow the loader's table). ``gpu_published_full_size.py`` compares this writer's tiny
folder with the test helper's, tensor by tensor, so the copies cannot drift apart unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path
import sys
import time
from typing import Any

import numpy as np
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file as save_torch
from tokenizers import decoders, models, pre_tokenizers, Tokenizer, trainers
import torch
from transformers import PI0Config, PI0ForConditionalGeneration, PreTrainedTokenizerFast

from vla_ros.policies.lerobot_files import read_json, read_tensor_infos

IMAGE_KEYS = ('observation.images.base_0_rgb', 'observation.images.left_wrist_0_rgb',
              'observation.images.right_wrist_0_rgb')
#: Gemma variant -> (width, depth, MLP width, heads, head size): openpi's ``gemma.get_config``.
GEMMA_VARIANTS = {
    'gemma_2b': (2048, 18, 16_384, 8, 256),
    'gemma_300m': (1024, 18, 4096, 8, 256),
    'dummy': (64, 4, 128, 8, 16),
}
#: The statistics written: means 0.1 * index (rad), standard deviations 0.05.
MOTION_STD = 0.05
#: PaliGemma's <locNNNN> and <segNNN> tokens, the last 1152 of its vocabulary.
_LOCATION_TOKENS = [f'<loc{i:0>4}>' for i in range(1024)] + [f'<seg{i:0>3}>' for i in range(128)]
_CORPUS = ('pick up the red cube', 'touch the blue cube', 'open the gripper', 'move left',
           'fold the towel and put it in the basket')


@dataclass(frozen=True, slots=True)
class FolderSizes:
    """What a written folder holds besides its random values.

    Attributes:
        paligemma_variant: ``config.json``'s Gemma variant of the language model.
        expert_variant: ``config.json``'s Gemma variant of the action expert.
        vision: SigLIP (width, depth, MLP width, heads, patch px).
        image_px: side of the square images the model takes.
        vocab_size: rows of the language model's embedding (PaliGemma: 257152).
        state_dim / action_dim: widths of ``observation.state`` and ``action``.
        chunk_size: rows per chunk (``n_action_steps`` equals it, as in pi0_base).
    """

    paligemma_variant: str
    expert_variant: str
    vision: tuple[int, int, int, int, int]
    image_px: int
    vocab_size: int
    state_dim: int
    action_dim: int
    chunk_size: int


FULL_SIZE = FolderSizes(paligemma_variant='gemma_2b', expert_variant='gemma_300m',
                        vision=(1152, 27, 4304, 16, 14), image_px=224, vocab_size=257_152,
                        state_dim=14, action_dim=14, chunk_size=50)
#: The test miniature's model (``test/policies/lerobot_pi0_folder.py``) with a padded vocabulary.
TINY = FolderSizes(paligemma_variant='dummy', expert_variant='dummy',
                   vision=(72, 1, 144, 1, 14), image_px=56, vocab_size=257_152,
                   state_dim=14, action_dim=14, chunk_size=50)


def write_paligemma_style_tokenizer(out_dir: Path, *, vocab_size: int) -> int:
    """Write a small BPE tokenizer of exactly ``vocab_size`` tokens; returns that size.

    As PaliGemma's: the text vocabulary (trained on a few sentences, then unused fillers up
    to ``vocab_size - 1152``), then the 1024 <locNNNN> and 128 <segNNN> tokens; ``<image>``
    is added by transformers' PI0Processor, one past the vocabulary.
    """
    tokenizer = Tokenizer(models.BPE(unk_token='<unk>'))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(_CORPUS, trainers.BpeTrainer(
        vocab_size=400, special_tokens=['<pad>', '<eos>', '<bos>', '<unk>'],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    raw = json.loads(tokenizer.to_str())
    vocab: dict[str, int] = raw['model']['vocab']
    text_size = vocab_size - len(_LOCATION_TOKENS)
    if sorted(vocab.values()) != list(range(len(vocab))) or len(vocab) > text_size:
        raise ValueError(f'trained vocabulary of {len(vocab)} ids does not fit {text_size}')
    vocab.update({f'<unused{i}>': i for i in range(len(vocab), text_size)})
    fast = PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(raw)),
                                   pad_token='<pad>', eos_token='<eos>', bos_token='<bos>',
                                   unk_token='<unk>')
    fast.add_tokens(_LOCATION_TOKENS)
    if len(fast) != vocab_size:
        raise ValueError(f'tokenizer has {len(fast)} tokens, expected {vocab_size}')
    fast.save_pretrained(out_dir)
    return len(fast)


def lerobot_name(name: str) -> str:
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
    raise ValueError(f'unmapped tensor {name}')


def transformers_config(sizes: FolderSizes) -> PI0Config:
    """The transformers config of the model the folder holds (built to make its weights)."""
    def gemma(variant: str) -> dict[str, Any]:
        width, depth, mlp_width, heads, head_size = GEMMA_VARIANTS[variant]
        return {'model_type': 'gemma', 'hidden_size': width, 'num_hidden_layers': depth,
                'intermediate_size': mlp_width, 'num_attention_heads': heads,
                'num_key_value_heads': 1, 'head_dim': head_size,
                'hidden_activation': 'gelu_pytorch_tanh'}
    width, depth, mlp_width, heads, patch_px = sizes.vision
    text = {**gemma(sizes.paligemma_variant), 'vocab_size': sizes.vocab_size}
    vision = {'model_type': 'siglip_vision_model', 'hidden_size': width,
              'num_hidden_layers': depth, 'intermediate_size': mlp_width,
              'num_attention_heads': heads, 'patch_size': patch_px,
              'image_size': sizes.image_px, 'vision_use_head': False}
    return PI0Config(
        vlm_config={'model_type': 'paligemma', 'text_config': text, 'vision_config': vision,
                    'projection_dim': text['hidden_size'], 'image_token_id': sizes.vocab_size},
        dit_config=gemma(sizes.expert_variant), chunk_size=sizes.chunk_size,
        max_state_dim=32, max_action_dim=32)


def lerobot_config(sizes: FolderSizes, *, dtype: str, device: str) -> dict[str, Any]:
    """``config.json`` as LeRobot's PI0Config saves it (the test miniature's keys)."""
    side = sizes.image_px
    visual = {key: {'type': 'VISUAL', 'shape': [3, side, side]} for key in IMAGE_KEYS}
    return {
        'type': 'pi0', 'n_obs_steps': 1,
        'input_features': {**visual, 'observation.state': {'type': 'STATE',
                                                           'shape': [sizes.state_dim]}},
        'output_features': {'action': {'type': 'ACTION', 'shape': [sizes.action_dim]}},
        'device': device, 'use_amp': False, 'use_peft': False, 'push_to_hub': False,
        'repo_id': None, 'private': None, 'tags': None, 'license': None,
        'pretrained_path': None, 'paligemma_variant': sizes.paligemma_variant,
        'action_expert_variant': sizes.expert_variant, 'dtype': dtype,
        'chunk_size': sizes.chunk_size, 'n_action_steps': sizes.chunk_size,
        'max_state_dim': 32, 'max_action_dim': 32, 'num_inference_steps': 10,
        'time_sampling_beta_alpha': 1.5, 'time_sampling_beta_beta': 1.0,
        'time_sampling_scale': 0.999, 'time_sampling_offset': 0.001, 'min_period': 0.004,
        'max_period': 4.0, 'use_relative_actions': False,
        'relative_exclude_joints': ['gripper'], 'action_feature_names': None,
        'rtc_config': None, 'image_resolution': [side, side], 'empty_cameras': 0,
        'normalization_mapping': {'VISUAL': 'IDENTITY', 'STATE': 'MEAN_STD',
                                  'ACTION': 'MEAN_STD'},
        'gradient_checkpointing': False, 'compile_model': False, 'compile_mode': 'max-autotune',
        'freeze_vision_encoder': False, 'train_expert_only': False, 'optimizer_lr': 2.5e-05,
        'optimizer_betas': [0.9, 0.95], 'optimizer_eps': 1e-08, 'optimizer_weight_decay': 0.01,
        'optimizer_grad_clip_norm': 1.0, 'scheduler_warmup_steps': 1000,
        'scheduler_decay_steps': 30000, 'scheduler_decay_lr': 2.5e-06,
        'tokenizer_max_length': 48,
    }


def motion_means(width: int) -> np.ndarray:
    """The state and action means written: 0.1 * index, (width,) float32."""
    return 0.1 * np.arange(width, dtype=np.float32)


def _stats(width: int) -> dict[str, np.ndarray]:
    values = motion_means(width)
    return {'mean': values, 'std': np.full_like(values, MOTION_STD),
            'min': values - 1.0, 'max': values + 1.0, 'q01': values - 0.9, 'q99': values + 0.9}


def write_pipelines(folder: Path, sizes: FolderSizes, *, device: str) -> None:
    """The processor pipelines and their normalizer statistics, as LeRobot saves them."""
    features = {'observation.state': {'type': 'STATE', 'shape': [sizes.state_dim]},
                'action': {'type': 'ACTION', 'shape': [sizes.action_dim]}}
    norm = {'eps': 1e-08, 'features': features,
            'norm_map': {'VISUAL': 'IDENTITY', 'STATE': 'MEAN_STD', 'ACTION': 'MEAN_STD'}}
    pre_state = 'policy_preprocessor_step_5_normalizer_processor.safetensors'
    post_state = 'policy_postprocessor_step_0_unnormalizer_processor.safetensors'
    device_step = {'registry_name': 'device_processor',
                   'config': {'device': device, 'float_dtype': None}}
    preprocessor = {'name': 'policy_preprocessor', 'steps': [
        {'registry_name': 'rename_observations_processor', 'config': {'rename_map': {}}},
        {'registry_name': 'to_batch_processor', 'config': {}},
        {'registry_name': 'pi0_new_line_processor', 'config': {}},
        {'registry_name': 'tokenizer_processor', 'config': {
            'max_length': 48, 'task_key': 'task', 'padding_side': 'right',
            'padding': 'max_length', 'truncation': True,
            'tokenizer_name': 'google/paligemma-3b-pt-224'}},
        device_step,
        {'registry_name': 'normalizer_processor', 'config': norm, 'state_file': pre_state}]}
    postprocessor = {'name': 'policy_postprocessor', 'steps': [
        {'registry_name': 'unnormalizer_processor', 'config': norm, 'state_file': post_state},
        device_step]}
    state = {f'observation.state.{k}': v for k, v in _stats(sizes.state_dim).items()}
    actions = {f'action.{k}': v for k, v in _stats(sizes.action_dim).items()}
    save_numpy({**state, **actions}, str(folder / pre_state))
    save_numpy({**state, **actions}, str(folder / post_state))
    for name, pipeline in (('policy_preprocessor.json', preprocessor),
                           ('policy_postprocessor.json', postprocessor)):
        (folder / name).write_text(json.dumps(pipeline, indent=2))


def write_pi0_folder(folder: Path, sizes: FolderSizes, *, device: torch.device,
                     dtype: torch.dtype, seed: int = 0) -> dict[str, float]:
    """Write a LeRobot pi0 folder; the weights are made on ``device`` in ``dtype``, then saved.

    Making the model on the GPU takes seconds where initialising 3.5 B parameters on the CPU
    takes minutes; the model is dropped before the folder is written.

    Returns:
        'parameters_m', 'weights_mib', 'build_s' (model made and copied to the host),
        'save_s' (file written).
    """
    started = time.monotonic()
    torch.manual_seed(seed)
    with torch.device(device):
        model = PI0ForConditionalGeneration._from_config(transformers_config(sizes), dtype=dtype)
    # Copied to the host here, in one pass, rather than tensor by tensor inside safetensors.
    tensors = {lerobot_name(name): tensor.contiguous().to('cpu')
               for name, tensor in model.state_dict().items()}
    del model
    built = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    save_torch(tensors, str(folder / 'model.safetensors'))
    info = {'parameters_m': sum(t.numel() for t in tensors.values()) / 1e6,
            'weights_mib': sum(t.numel() * t.element_size() for t in tensors.values()) / 2 ** 20,
            'build_s': built - started, 'save_s': time.monotonic() - built}
    del tensors
    dtype_name = str(dtype).removeprefix('torch.')
    (folder / 'config.json').write_text(json.dumps(
        lerobot_config(sizes, dtype=dtype_name, device=device.type), indent=4))
    write_pipelines(folder, sizes, device=device.type)
    return info


def compare_with_miniature(root: Path, helper_dir: Path) -> tuple[int, list[str]]:
    """This writer's ``TINY`` folder against the test helper's miniature, both written here.

    Compares every tensor's name, shape and dtype, the keys of ``config.json`` and of the
    pipelines, and the pipelines' steps (names and state files); values may differ.

    Args:
        root: an empty folder to write both into.
        helper_dir: the folder of ``lerobot_pi0_folder.py`` (``test/policies``).

    Returns:
        (tensors compared, differences found).
    """
    sys.path.insert(0, str(helper_dir))
    import lerobot_pi0_folder as miniature

    ours = root / 'ours'
    write_pi0_folder(ours, TINY, device=torch.device('cpu'), dtype=torch.float32)
    theirs = miniature.write_pi0_folder(root / 'miniature', vocab_size=TINY.vocab_size)
    ours_infos, their_infos = read_tensor_infos(ours), read_tensor_infos(theirs)
    differences = sorted(name for name in set(ours_infos) | set(their_infos)
                         if ours_infos.get(name) != their_infos.get(name))
    for filename in ('config.json', 'policy_preprocessor.json', 'policy_postprocessor.json'):
        ours_raw = read_json(ours / filename, what=filename)
        their_raw = read_json(theirs / filename, what=filename)
        if set(ours_raw) != set(their_raw):
            differences.append(f'{filename} keys: {sorted(set(ours_raw) ^ set(their_raw))}')
        steps = [[(step['registry_name'], step.get('state_file')) for step in raw.get('steps', [])]
                 for raw in (ours_raw, their_raw)]
        if steps[0] != steps[1]:
            differences.append(f'{filename} steps differ')
    return len(ours_infos), differences
