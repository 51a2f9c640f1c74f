# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Make a tiny flow checkpoint with random weights, for tests, simulation and set-up scripts.

The model is a real ``PI0ForConditionalGeneration`` shrunk to a few hundred thousand parameters
(tiny SigLIP tower, tiny Gemma language model and action expert); the tokenizer is a byte-level
BPE trained here on a short built-in corpus of robot instructions. Nothing is downloaded, and the
same arguments write the same files. With the default statistics the model's ~N(0, 1) output
becomes small motions around a home pose, so a random policy commands positions near home.
``build_model`` (with a ``ModelSize``) makes the same kind of model for ``train`` to fit.

``vla-ros random-checkpoint --family flow --out DIR`` writes one for the default robot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from pathlib import Path
from typing import Any

from tokenizers import decoders, models, pre_tokenizers, Tokenizer, trainers
import torch
from transformers import (
    PI0Config,
    PI0ForConditionalGeneration,
    PI0Processor,
    PreTrainedTokenizerFast,
    SiglipImageProcessorPil,
)

from vla_ros.core.errors import ConfigError
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.default_robot import (
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
    per_joint,
)
from vla_ros.policies.flow.config import FeatureStats, FlowPolicyConfig, Normalization

__all__ = [
    'DEFAULT_HOME_POSITIONS', 'DEFAULT_MOTION_STD', 'DEFAULT_SPEC', 'ModelSize', 'build_model',
    'create_random_checkpoint', 'home_pose_normalization', 'save_checkpoint',
]


#: State and action widths of the model (pi0's 32); shorter vectors are zero-padded.
_MAX_DIM = 32
_TOKENIZER_VOCAB_SIZE = 400
_SPECIAL_TOKENS = ('<pad>', '<eos>', '<bos>', '<unk>')
_CORPUS = (
    'pick up the red cube', 'pick up the blue block and place it in the bowl',
    'touch the green cube', 'push the yellow block to the left', 'open the gripper',
    'close the gripper', 'move the arm to the home pose', 'stack the red cube on the blue cube',
    'put the cup on the plate', 'open the drawer', 'close the drawer', 'wave',
    'move left', 'move right', 'move up', 'move down', 'stop',
)


def home_pose_normalization(home_positions: Sequence[float],
                            motion_std: float | Sequence[float] = 0.05) -> Normalization:
    """Statistics that turn a ~N(0, 1) model output into small motions around a home pose.

    Actions get mean = home and std = ``motion_std``; the state gets mean = home and a ten
    times wider std, since the arm roams further than one chunk moves.

    Args:
        home_positions: (J,) home pose, rad (m for prismatic joints).
        motion_std: action standard deviation, one value for all joints or one per joint.

    Raises:
        ConfigError: ``motion_std`` has the wrong length or a value <= 0.
    """
    home = tuple(float(value) for value in home_positions)
    std = per_joint(motion_std, len(home), 'motion_std')
    return Normalization(
        state=FeatureStats(mean=home, std=tuple(10.0 * value for value in std)),
        actions=FeatureStats(mean=home, std=std))


def _build_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE(unk_token='<unk>'))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_TOKENIZER_VOCAB_SIZE, special_tokens=list(_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(_CORPUS, trainer)
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, pad_token='<pad>', eos_token='<eos>', bos_token='<bos>',
        unk_token='<unk>')


@dataclass(frozen=True, slots=True)
class ModelSize:
    """Widths and depths of the tiny PI0; the defaults make the ~0.3 M-parameter test model.

    Attributes:
        width: hidden size of the vision tower and the language model (MLP: twice as wide).
        expert_width: hidden size of the action expert (MLP: twice as wide).
        depth: layers of the vision tower, the language model and the action expert.
        heads: attention heads of every tower.
        kv_heads: key/value heads of the language model and the expert (1: multi-query
            attention, as PaliGemma; ``heads``: one per query head); divides ``heads``.
        head_dim: size of each attention head; the expert reads the language model's cache,
            so the two share depth, heads and head size and differ only in width.
        patch_px: side of the vision tower's square patches, pixels; None takes the largest
            of 16, 8 and 4 that divides the image side.
        init_std: standard deviation of the initial weights of the language model, the
            action expert and PI0's own projections; None keeps transformers' 0.02, which
            is made for models a thousand wide. At a width of 64 it leaves the attention
            logits near zero and attention slow to learn; about 1 / sqrt(width) trains well.
    """

    width: int = 64
    expert_width: int = 32
    depth: int = 2
    heads: int = 2
    kv_heads: int = 1
    head_dim: int = 32
    patch_px: int | None = None
    init_std: float | None = None

    def __post_init__(self) -> None:
        for field in ('width', 'expert_width', 'depth', 'heads', 'kv_heads', 'head_dim'):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f'ModelSize.{field}: {value!r}, expected an integer >= 1')
        if self.heads % self.kv_heads:
            raise ConfigError(f'ModelSize.kv_heads: {self.kv_heads}, expected a divisor of '
                              f'heads ({self.heads})')
        if self.expert_width % 2:
            raise ConfigError(f'ModelSize.expert_width: {self.expert_width}, expected even '
                              '(the sinusoidal time embedding splits it in halves)')
        if self.init_std is not None and not (isinstance(self.init_std, int | float)
                                              and 0.0 < self.init_std < math.inf):
            raise ConfigError(f'ModelSize.init_std: {self.init_std!r}, expected a number > 0 '
                              'or None')
        if self.patch_px is not None and (isinstance(self.patch_px, bool)
                                          or not isinstance(self.patch_px, int)
                                          or self.patch_px < 1):
            raise ConfigError(f'ModelSize.patch_px: {self.patch_px!r}, expected an integer '
                              '>= 1 or None')

    def patch_size_px(self, image_size_px: int) -> int:
        """The patch side for square images of ``image_size_px``.

        Raises:
            ConfigError: no patch side divides the image side.
        """
        choices = (16, 8, 4) if self.patch_px is None else (self.patch_px,)
        for patch_px in choices:
            if image_size_px % patch_px == 0:
                return patch_px
        if self.patch_px is not None:
            raise ConfigError(f'spec.image_height: {image_size_px}, expected a multiple of '
                              f'{self.patch_px} pixels, the patch size (--patch); choose a '
                              f'divisor of {image_size_px}')
        raise ConfigError(f'spec.image_height: {image_size_px}, expected a multiple of '
                          f'{" or ".join(str(choice) for choice in choices)} pixels')


def _tiny_model_config(spec: PolicySpec, size: ModelSize, *, vocab_size: int,
                       image_token_id: int, num_denoising_steps: int) -> PI0Config:
    attention: dict[str, Any] = {
        'num_hidden_layers': size.depth, 'num_attention_heads': size.heads,
        'num_key_value_heads': size.kv_heads, 'head_dim': size.head_dim}
    if size.init_std is not None:
        attention['initializer_range'] = size.init_std
    text = {'model_type': 'gemma', 'hidden_size': size.width,
            'intermediate_size': 2 * size.width, **attention, 'vocab_size': vocab_size}
    vision = {'model_type': 'siglip_vision_model', 'hidden_size': size.width,
              'num_hidden_layers': size.depth, 'intermediate_size': 2 * size.width,
              'num_attention_heads': size.heads, 'patch_size': size.patch_size_px(
                  spec.image_height), 'image_size': spec.image_height,
              'vision_use_head': False}
    # The action expert shares the language model's attention (depth, heads, head size) and
    # reads its cache, so only its width and MLP may differ.
    expert = {'model_type': 'gemma', 'hidden_size': size.expert_width,
              'intermediate_size': 2 * size.expert_width, **attention}
    init = {} if size.init_std is None else {'initializer_range': size.init_std}
    config = PI0Config(
        vlm_config={'model_type': 'paligemma', 'text_config': text, 'vision_config': vision,
                    'projection_dim': text['hidden_size'], 'image_token_id': image_token_id,
                    **init},
        dit_config=expert, chunk_size=spec.chunk_length, max_state_dim=_MAX_DIM,
        max_action_dim=_MAX_DIM, num_inference_steps=num_denoising_steps)
    if size.init_std is not None:
        config.initializer_range = size.init_std
    return config


def build_model(spec: PolicySpec, *, size: ModelSize | None = None, seed: int = 0,
                num_denoising_steps: int = 10
                ) -> tuple[PI0ForConditionalGeneration, PI0Processor]:
    """A freshly initialised tiny PI0 for ``spec`` and its processor (tokenizer and images).

    Args:
        spec: the contract; images must be square, with a side the patch size divides.
        size: widths and depths; the default ``ModelSize()`` when None.
        seed: seeds the weights; the global torch generator is left as it was.
        num_denoising_steps: Euler steps of the model's own sampler default.

    Raises:
        ConfigError: non-square images or a side that no patch size divides.
    """
    size = size or ModelSize()
    if spec.image_height != spec.image_width:
        raise ConfigError(
            f'spec: image {spec.image_width}x{spec.image_height} (WxH); the tiny model needs '
            'square images')
    patch_px = size.patch_size_px(spec.image_height)
    image_processor = SiglipImageProcessorPil(
        size={'height': spec.image_height, 'width': spec.image_width},
        image_seq_length=(spec.image_height // patch_px) ** 2)
    # PI0Processor adds its <image>, <locNNNN> and <segNNN> tokens to the tokenizer.
    hf_processor = PI0Processor(image_processor=image_processor, tokenizer=_build_tokenizer(),
                                max_state_dim=_MAX_DIM, chunk_size=spec.chunk_length)
    model_config = _tiny_model_config(
        spec, size, vocab_size=len(hf_processor.tokenizer),
        image_token_id=hf_processor.image_token_id, num_denoising_steps=num_denoising_steps)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = PI0ForConditionalGeneration(model_config)
    return model, hf_processor


def create_random_checkpoint(out_dir: Path, spec: PolicySpec, *, seed: int = 0,
                             normalization: Normalization | None = None,
                             home_positions: Sequence[float] | None = None,
                             motion_std: float | Sequence[float] = 0.05,
                             num_denoising_steps: int = 10) -> Path:
    """Write a tiny random-weight flow checkpoint for ``spec`` into ``out_dir``.

    Args:
        out_dir: directory to write; created if missing, existing files of the same name
            are replaced.
        spec: the contract; images must be square, with a side that is a multiple of 4.
        seed: seeds the weights and the stored noise seed; the same seed writes the same files.
        normalization: statistics to store; by default ``home_pose_normalization``.
        home_positions: (J,) home pose for the default statistics; zeros when None.
        motion_std: action std for the default statistics, rad or m (see above).
        num_denoising_steps: Euler steps of the sampler.

    Returns:
        ``out_dir``.

    Raises:
        ConfigError: an invalid spec, statistics that do not fit it, or both ``normalization``
            and ``home_positions`` given.
    """
    if normalization is not None and home_positions is not None:
        raise ConfigError('create_random_checkpoint: give normalization or home_positions, '
                          'not both')
    if normalization is None:
        home = home_positions if home_positions is not None else (0.0,) * len(spec.joint_names)
        normalization = home_pose_normalization(home, motion_std)
    config = FlowPolicyConfig(spec=spec, normalization=normalization,
                              num_denoising_steps=num_denoising_steps, noise_seed=seed)
    model, hf_processor = build_model(spec, seed=seed,
                                      num_denoising_steps=num_denoising_steps)
    return save_checkpoint(out_dir, model, hf_processor, config)


def save_checkpoint(checkpoint_dir: Path, model: PI0ForConditionalGeneration,
                    hf_processor: PI0Processor, config: FlowPolicyConfig) -> Path:
    """Write weights, processor files and ``config`` into ``checkpoint_dir`` (created)."""
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(checkpoint_dir)
    hf_processor.save_pretrained(checkpoint_dir)
    config.save(checkpoint_dir)
    return checkpoint_dir
