# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The tiny vision-language model both token families decode with, built and loaded locally.

The model is transformers' ``PaliGemmaForConditionalGeneration`` (a SigLIP vision tower whose
patch embeddings replace the ``<image>`` placeholders of the prompt, and a Gemma decoder with
prefix-LM attention), shrunk to a few hundred thousand to a few million parameters. Its
vocabulary is the text tokenizer's followed by ``action_vocab_size`` ids that only actions
use: the last ids of the vocabulary, as OpenVLA and pi0-FAST place theirs.

The text tokenizer is a byte-level BPE trained here with the ``tokenizers`` library on a short
built-in corpus of robot instructions, the prompt's keywords, the state bin numbers and any
extra texts (a dataset's instructions); it is saved with the checkpoint, and any text still
encodes, byte by byte at worst. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
import math
from pathlib import Path

from safetensors import SafetensorError
from tokenizers import decoders, models, pre_tokenizers, Tokenizer, trainers
import torch
from transformers import (
    PaliGemmaConfig,
    PaliGemmaForConditionalGeneration,
    PreTrainedConfig,
    PreTrainedTokenizerFast,
)

from vla_ros.core.errors import ConfigError
from vla_ros.policies.base import PolicySpec

__all__ = [
    'IMAGE_TOKEN', 'VlmSize', 'build_text_tokenizer', 'build_vlm', 'load_text_tokenizer',
    'load_vlm', 'model_vocab_size', 'vision_geometry',
]

IMAGE_TOKEN = '<image>'
_SPECIAL_TOKENS = ('<pad>', '<eos>', '<bos>', '<unk>', IMAGE_TOKEN)
_TEXT_VOCAB_SIZE = 640
_CORPUS = (
    'pick up the red cube', 'pick up the blue block and place it in the bowl',
    'touch the green cube', 'reach the blue cube', 'move your gripper to the red cube',
    'put the fingertips on top of the green block', 'go to the blue block',
    'lift the red cube', 'raise the green block', 'grasp the blue cube and lift it',
    'push the yellow block to the left', 'open the gripper', 'close the gripper',
    'move the arm to the home pose', 'stack the red cube on the blue cube', 'stop',
    'Task: , State: ;\nAction: ',
)


@dataclass(frozen=True, slots=True)
class VlmSize:
    """Widths and depths of the tiny PaliGemma; the defaults make a ~0.5 M-parameter model.

    Attributes:
        width: hidden size of the language model (MLP: four times as wide).
        depth: decoder layers.
        heads: attention heads of the decoder (one shared key/value head, as Gemma-2B).
        head_dim: size of each decoder attention head.
        vision_width: hidden size of the vision tower (MLP: four times as wide).
        vision_depth: vision tower layers.
        patch_px: side of the vision tower's square patches, pixels; it must divide the
            image side. Each camera becomes (side / patch_px)^2 prefix tokens.
        init_std: standard deviation of the initial weights of the language model and the
            projections; None keeps transformers' 0.02, made for models a thousand wide
            (see the flow family's ``ModelSize.init_std``).
    """

    width: int = 96
    depth: int = 3
    heads: int = 4
    head_dim: int = 24
    vision_width: int = 64
    vision_depth: int = 2
    patch_px: int = 16
    init_std: float | None = None

    def __post_init__(self) -> None:
        for key in ('width', 'depth', 'heads', 'head_dim', 'vision_width', 'vision_depth',
                    'patch_px'):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f'VlmSize.{key}: {value!r}, expected an integer >= 1')
        if self.init_std is not None and not (isinstance(self.init_std, int | float)
                                              and 0.0 < self.init_std < math.inf):
            raise ConfigError(f'VlmSize.init_std: {self.init_std!r}, expected a number > 0')

    def tokens_per_image(self, spec: PolicySpec) -> int:
        """Prefix tokens per camera for ``spec``'s images.

        Raises:
            ConfigError: non-square images, or a side that ``patch_px`` does not divide.
        """
        side = spec.image_height
        if spec.image_width != side or side % self.patch_px:
            raise ConfigError(
                f'spec: image {spec.image_width}x{side} (WxH); the tiny model needs square '
                f'images with a side that is a multiple of patch_px {self.patch_px}')
        return (side // self.patch_px) ** 2


def build_text_tokenizer(extra_texts: Iterable[str] = (), *,
                         number_count: int = 256) -> PreTrainedTokenizerFast:
    """A byte-level BPE text tokenizer with the special tokens the prompts use.

    It is trained on the built-in corpus, the numbers below ``number_count`` (the state bins)
    and ``extra_texts``; the same arguments give the same tokenizer.
    """
    tokenizer = Tokenizer(models.BPE(unk_token='<unk>'))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_TEXT_VOCAB_SIZE, special_tokens=list(_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    # Each state bin number appears often enough to become one token of its own.
    numbers = ' '.join(str(value) for value in range(number_count))
    corpus = [*_CORPUS, *sorted(set(extra_texts)), *([numbers] * 4)]
    tokenizer.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tokenizer, pad_token='<pad>', eos_token='<eos>', bos_token='<bos>',
        unk_token='<unk>')


def load_text_tokenizer(checkpoint_dir: Path) -> PreTrainedTokenizerFast:
    """Load the tokenizer saved in ``checkpoint_dir`` (never online).

    Raises:
        ConfigError: the files are missing, unreadable or lack the ``<image>`` token.
    """
    try:
        tokenizer: PreTrainedTokenizerFast = PreTrainedTokenizerFast.from_pretrained(
            checkpoint_dir, local_files_only=True)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ConfigError(f'{checkpoint_dir}: cannot load the text tokenizer: {err}') from err
    if IMAGE_TOKEN not in tokenizer.get_vocab():
        raise ConfigError(f'{checkpoint_dir}: the tokenizer has no {IMAGE_TOKEN!r} token')
    return tokenizer


def build_vlm(spec: PolicySpec, *, text_vocab_size: int, action_vocab_size: int,
              image_token_id: int, size: VlmSize | None = None,
              seed: int = 0) -> PaliGemmaForConditionalGeneration:
    """A freshly initialised tiny PaliGemma for ``spec`` whose last ids are action ids.

    Args:
        spec: the contract; images must be square with a side ``size.patch_px`` divides.
        text_vocab_size: ids the text tokenizer uses, from 0.
        action_vocab_size: ids after those, which only actions use.
        image_token_id: the tokenizer's ``<image>`` id.
        size: widths and depths; ``VlmSize()`` when None.
        seed: seeds the weights; the global torch generator is left as it was.

    Raises:
        ConfigError: images the vision tower cannot cut into patches.
    """
    size = size or VlmSize()
    size.tokens_per_image(spec)
    text = {'model_type': 'gemma', 'hidden_size': size.width,
            'intermediate_size': 4 * size.width, 'num_hidden_layers': size.depth,
            'num_attention_heads': size.heads, 'num_key_value_heads': 1,
            'head_dim': size.head_dim, 'vocab_size': text_vocab_size + action_vocab_size,
            # Causal by default; the prompt's prefix-LM block comes from token_type_ids.
            'use_bidirectional_attention': False}
    if size.init_std is not None:
        text['initializer_range'] = size.init_std
    vision = {'model_type': 'siglip_vision_model', 'hidden_size': size.vision_width,
              'intermediate_size': 4 * size.vision_width,
              'num_hidden_layers': size.vision_depth, 'num_attention_heads': 2,
              'patch_size': size.patch_px, 'image_size': spec.image_height,
              'vision_use_head': False}
    config = PaliGemmaConfig(text_config=text, vision_config=vision,
                             projection_dim=size.width, hidden_size=size.width,
                             image_token_index=image_token_id,
                             vocab_size=text_vocab_size + action_vocab_size)
    if size.init_std is not None:
        config.initializer_range = size.init_std
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = PaliGemmaForConditionalGeneration(config)
    model.eval()  # type: ignore[no-untyped-call]
    return model


def load_vlm(checkpoint_dir: Path, device: torch.device) -> PaliGemmaForConditionalGeneration:
    """Load the PaliGemma weights saved in ``checkpoint_dir`` onto ``device``, in eval mode.

    Raises:
        ConfigError: the files are missing or unreadable.
    """
    try:
        model = PaliGemmaForConditionalGeneration.from_pretrained(
            checkpoint_dir, local_files_only=True, dtype=torch.float32)
    except (OSError, ValueError, KeyError, SafetensorError) as err:
        raise ConfigError(f'{checkpoint_dir}: cannot load the PaliGemma model: {err}') from err
    model.to(device)  # type: ignore[arg-type]  # transformers' wrapper hides nn.Module.to
    model.eval()  # type: ignore[no-untyped-call]
    return model


def _sub_config(model: PaliGemmaForConditionalGeneration, key: str) -> PreTrainedConfig:
    config = getattr(model.config, key)
    if not isinstance(config, PreTrainedConfig):
        raise ConfigError(f'config.json: {key}: {config!r}, expected a sub-config')
    return config


def model_vocab_size(model: PaliGemmaForConditionalGeneration) -> int:
    """Size of the language model's vocabulary (text and action ids)."""
    return int(_sub_config(model, 'text_config').vocab_size)


def vision_geometry(model: PaliGemmaForConditionalGeneration) -> tuple[int, int]:
    """(image side, patch side) of the vision tower, pixels."""
    vision = _sub_config(model, 'vision_config')
    return int(vision.image_size), int(vision.patch_size)
