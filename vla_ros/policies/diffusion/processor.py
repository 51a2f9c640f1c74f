# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation -> diffusion model inputs, and denoised model output -> ``ActionChunk``.

The instruction is tokenized by a word-level tokenizer of the ``tokenizers`` library (NFKC,
lower case, split on whitespace and punctuation; unknown words become ``[UNK]``), built from
the training instructions and saved in the checkpoint as ``tokenizer.json``, with padding
and truncation to the model's ``max_text_tokens`` stored in it. Images are kept as uint8 in
the spec's camera order (the network scales them); nothing is resized, since a silent resize
would hide a misconfigured camera. State and actions use the checkpoint's normalization
(z-score or q01/q99, with masks) and are zero-padded to the model's widths; the output is
unpadded and unnormalized the same way. Training runs the same ``prepare``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from tokenizers import normalizers, pre_tokenizers, Tokenizer
from tokenizers.models import WordLevel
import torch

from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.images import require_size
from vla_ros.core.instructions import normalize_instruction
from vla_ros.core.normalization import pad_dims, unpad_dims
from vla_ros.core.types import ActionChunk
from vla_ros.policies.diffusion.config import TOKENIZER_FILENAME

if TYPE_CHECKING:
    from vla_ros.core.types import Observation
    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.diffusion.config import DiffusionPolicyConfig

__all__ = ['BASE_CORPUS', 'DiffusionProcessor', 'ModelInputs', 'PAD_TOKEN', 'UNK_TOKEN',
           'build_tokenizer']

PAD_TOKEN, UNK_TOKEN = '[PAD]', '[UNK]'
#: Words every tokenizer knows besides its training instructions.
BASE_CORPUS = (
    'touch reach pick up lift grasp push move go put place open close the a an to on of it and '
    'red green blue yellow cube block bowl cup gripper fingertips top arm left right home stop',
    '. , ! ? ; :',
)


@dataclass(frozen=True, slots=True)
class ModelInputs:
    """A batch of network inputs (B observations).

    Attributes:
        images: (B, C, 3, H, W) uint8 RGB, cameras in spec order.
        input_ids: (B, S) int64 instruction tokens, padded with 0.
        attention_mask: (B, S) int64, 1 for real tokens.
        state: (B, max_state_dim) float32 normalized joint positions, zero-padded.
    """

    images: torch.Tensor
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    state: torch.Tensor

    def __len__(self) -> int:
        return int(self.state.shape[0])

    def to(self, device: torch.device) -> ModelInputs:
        """The same inputs on ``device``."""
        return ModelInputs(images=self.images.to(device), input_ids=self.input_ids.to(device),
                           attention_mask=self.attention_mask.to(device),
                           state=self.state.to(device))

    def select(self, indices: torch.Tensor) -> ModelInputs:
        """Rows ``indices`` (1-D int64) of every field."""
        return ModelInputs(images=self.images[indices], input_ids=self.input_ids[indices],
                           attention_mask=self.attention_mask[indices],
                           state=self.state[indices])

    @classmethod
    def concatenate(cls, batches: Sequence[ModelInputs]) -> ModelInputs:
        """Stack batches along the first axis."""
        return cls(images=torch.cat([batch.images for batch in batches]),
                   input_ids=torch.cat([batch.input_ids for batch in batches]),
                   attention_mask=torch.cat([batch.attention_mask for batch in batches]),
                   state=torch.cat([batch.state for batch in batches]))


def build_tokenizer(instructions: Iterable[str], *, max_tokens: int) -> Tokenizer:
    """A word-level tokenizer over ``BASE_CORPUS`` and ``instructions``, padded to max_tokens.

    Ids: 0 is ``[PAD]``, 1 is ``[UNK]``, then the words in sorted order, so the same words
    always give the same ids.
    """
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    splitter = pre_tokenizers.Whitespace()
    words: set[str] = set()
    for text in (*BASE_CORPUS, *instructions):
        words.update(word for word, _ in splitter.pre_tokenize_str(
            normalizer.normalize_str(text)))
    vocab = {PAD_TOKEN: 0, UNK_TOKEN: 1}
    vocab.update({word: index + 2 for index, word in enumerate(sorted(words))})
    tokenizer = Tokenizer(WordLevel(vocab, unk_token=UNK_TOKEN))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = splitter
    tokenizer.enable_padding(pad_id=0, pad_token=PAD_TOKEN, length=max_tokens)
    tokenizer.enable_truncation(max_length=max_tokens)
    return tokenizer


class DiffusionProcessor:
    """Turns observations into model inputs and denoised chunks into action chunks.

    Args:
        config: the checkpoint's config (spec, normalization, model widths).
        tokenizer: the instruction tokenizer, padding to ``max_text_tokens``.

    Raises:
        ConfigError: the tokenizer's vocabulary does not fit the text encoder.
    """

    def __init__(self, config: DiffusionPolicyConfig, tokenizer: Tokenizer) -> None:
        vocab, rows = tokenizer.get_vocab_size(), config.architecture.vocab_size
        if vocab > rows:
            raise ConfigError(f'tokenizer: {vocab} tokens, but architecture.vocab_size is '
                              f'{rows}')
        self._config = config
        self._tokenizer = tokenizer

    @classmethod
    def from_checkpoint(cls, checkpoint_dir: Path,
                        config: DiffusionPolicyConfig) -> DiffusionProcessor:
        """Load ``tokenizer.json`` from ``checkpoint_dir``.

        Raises:
            ConfigError: the file is missing or not a tokenizer.
        """
        path = Path(checkpoint_dir) / TOKENIZER_FILENAME
        try:
            tokenizer = Tokenizer.from_file(str(path))
        except Exception as err:  # tokenizers raises bare Exceptions for bad files
            raise ConfigError(f'{path}: cannot load the instruction tokenizer: {err}') from err
        return cls(config, tokenizer)

    @property
    def spec(self) -> PolicySpec:
        """The contract observations are checked against."""
        return self._config.spec

    @property
    def tokenizer(self) -> Tokenizer:
        """The instruction tokenizer."""
        return self._tokenizer

    def save(self, checkpoint_dir: Path) -> None:
        """Write ``tokenizer.json`` into ``checkpoint_dir``."""
        self._tokenizer.save(str(Path(checkpoint_dir) / TOKENIZER_FILENAME))

    def prepare(self, observation: Observation) -> ModelInputs:
        """Check ``observation`` against the spec and build a batch of one (CPU).

        Raises:
            InputError: a camera is missing or has the wrong size, a joint is missing, or the
                instruction is empty.
        """
        spec = self._config.spec
        images = []
        for camera, image in zip(spec.camera_names, observation.images_for(spec)):
            require_size(image, height=spec.image_height, width=spec.image_width,
                         where=f'camera {camera!r}')
            images.append(np.ascontiguousarray(image.transpose(2, 0, 1)))
        encoding = self._tokenizer.encode(normalize_instruction(observation.instruction))
        state = pad_dims(self._config.normalization.state.normalize(
            observation.positions_for(spec.joint_names)), self._config.architecture.max_state_dim)
        return ModelInputs(
            images=torch.from_numpy(np.stack(images)[None]),
            input_ids=torch.tensor([encoding.ids], dtype=torch.int64),
            attention_mask=torch.tensor([encoding.attention_mask], dtype=torch.int64),
            state=torch.from_numpy(state[None].astype(np.float32)))

    def normalize_actions(self, actions: ArrayLike) -> NDArray[np.float32]:
        """(L, J) absolute targets, robot units -> (L, max_action_dim) model space, padded."""
        normalized = self._config.normalization.actions.normalize(actions)
        return pad_dims(normalized, self._config.architecture.max_action_dim).astype(np.float32)

    def to_action_chunk(self, actions: torch.Tensor) -> ActionChunk:
        """Unpad and unnormalize the sampler's output into absolute joint positions.

        Args:
            actions: (1, chunk_length, max_action_dim) denoised normalized chunk.

        Raises:
            PolicyOutputError: the output has the wrong shape or non-finite values.
        """
        spec = self._config.spec
        expected = (1, spec.chunk_length, self._config.architecture.max_action_dim)
        if tuple(actions.shape) != expected:
            raise PolicyOutputError(
                f'diffusion model output: shape {tuple(actions.shape)!r}, expected {expected!r}')
        normalized = unpad_dims(actions[0].double().cpu().numpy(), len(spec.joint_names))
        positions = self._config.normalization.actions.unnormalize(normalized)
        return ActionChunk(joint_names=spec.joint_names, positions=positions, dt_s=spec.dt_s)
