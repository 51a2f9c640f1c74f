# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Discrete-token policy (RT-2 / OpenVLA style) on a transformers vision-language model.

A ``tokens`` checkpoint directory holds the PaliGemma files (``config.json``,
``model.safetensors``), the text tokenizer (``tokenizer.json``, ``tokenizer_config.json``) and
``vla_ros_policy.json`` (``config.py``). ``infer`` builds the prompt, decodes
chunk_length x joints bin tokens greedily with a KV cache and maps them back to joint targets,
so the same observation always gives the same chunk. A directory holding
``vla_ros_openvla.json`` is an OpenVLA checkpoint instead and loads through ``openvla.py``.
Everything is read locally; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from transformers import PaliGemmaForConditionalGeneration

from vla_ros.core.errors import ConfigError
from vla_ros.policies.checkpoint_policy import CheckpointPolicy
from vla_ros.policies.device import resolve_device
from vla_ros.policies.tokens.config import TokensPolicyConfig
from vla_ros.policies.tokens.greedy_decoding import allowed_ids_mask, greedy_decode
from vla_ros.policies.tokens.openvla import CONFIG_FILENAME as OPENVLA_CONFIG_FILENAME
from vla_ros.policies.tokens.openvla import load_openvla
from vla_ros.policies.tokens.processor import TokensProcessor
from vla_ros.policies.tokens.prompt import PromptEncoder
from vla_ros.policies.tokens.vlm import (
    load_text_tokenizer,
    load_vlm,
    model_vocab_size,
    vision_geometry,
)

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.base import Policy, PolicySpec

__all__ = ['TokensPolicy', 'check_vlm_fits', 'load']


class TokensPolicy(CheckpointPolicy[TokensPolicyConfig, TokensProcessor]):
    """A discrete-token policy; implements ``vla_ros.policies.base.Policy``.

    Args:
        model: the vision-language model, on ``device``.
        processor: prompt building and token decoding.
        config: the checkpoint's vla_ros config.
        device: where the model lives.
    """

    def __init__(self, model: PaliGemmaForConditionalGeneration, processor: TokensProcessor,
                 config: TokensPolicyConfig, *, device: torch.device) -> None:
        super().__init__(processor, config, device=device)
        model.eval()  # type: ignore[no-untyped-call]
        self._model = model
        tokenizer = processor.action_tokenizer
        self._allowed = allowed_ids_mask(tokenizer.vocab_size, tokenizer.first_token_id,
                                         tokenizer.n_bins)

    @property
    def model(self) -> PaliGemmaForConditionalGeneration:
        """The underlying transformers model."""
        return self._model

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next action chunk (absolute joint positions) for ``observation``.

        Raises:
            InputError: the observation does not fit the spec (camera, size, joint, instruction).
            PolicyOutputError: the generated tokens are no valid chunk.
        """
        inputs = self._processor.prepare(observation).to(self._device)
        with self._lock:
            token_ids = greedy_decode(self._model, inputs, allowed=self._allowed,
                                      max_new_tokens=self._processor.tokens_per_chunk)
        positions = observation.positions_for(self.spec.joint_names)
        return self._processor.to_action_chunk(token_ids, positions)

    def save(self, checkpoint_dir: Path) -> None:
        """Write a complete checkpoint (weights, tokenizer, vla_ros config) into a folder."""
        save_checkpoint(checkpoint_dir, self._model, self._processor.prompt.tokenizer,
                        self._config)


def save_checkpoint(checkpoint_dir: Path, model: PaliGemmaForConditionalGeneration,
                    tokenizer: PreTrainedTokenizerFast, config: TokensPolicyConfig) -> Path:
    """Write the model, its tokenizer and ``config`` into ``checkpoint_dir`` (created)."""
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(checkpoint_dir)
    tokenizer.save_pretrained(checkpoint_dir)
    config.save(checkpoint_dir)
    return checkpoint_dir


def check_vlm_fits(model: PaliGemmaForConditionalGeneration, spec: PolicySpec, *,
                   text_vocab_size: int, action_vocab_size: int, checkpoint_dir: Path) -> int:
    """Check the model against the spec and the vocabularies; return tokens per image.

    Raises:
        ConfigError: image size, patch grid or vocabulary that disagree, listed together.
    """
    image_px, patch_px = vision_geometry(model)
    vocab_size = model_vocab_size(model)
    problems = []
    if (spec.image_height, spec.image_width) != (image_px, image_px):
        problems.append(f'spec image size is {spec.image_width}x{spec.image_height} (WxH), '
                        f'the vision tower takes {image_px}x{image_px}')
    if text_vocab_size + action_vocab_size > vocab_size:
        problems.append(f'{text_vocab_size} text and {action_vocab_size} action ids do not '
                        f'fit the model vocabulary of {vocab_size}')
    if problems:
        raise ConfigError(f'{checkpoint_dir}: checkpoint files disagree: ' + '; '.join(problems))
    return (image_px // patch_px) ** 2


def load(checkpoint_dir: Path, device: str) -> Policy:
    """Load a ``tokens`` (or OpenVLA) checkpoint onto ``device``; the registry's entry point.

    Raises:
        ConfigError: a missing or invalid file, files that disagree, or a device that is not
            available.
    """
    checkpoint_dir = Path(checkpoint_dir)
    torch_device = resolve_device(device)
    if (checkpoint_dir / OPENVLA_CONFIG_FILENAME).is_file():
        return load_openvla(checkpoint_dir, torch_device)
    config = TokensPolicyConfig.load(checkpoint_dir)
    model = load_vlm(checkpoint_dir, torch_device)
    tokenizer = load_text_tokenizer(checkpoint_dir)
    tokens_per_image = check_vlm_fits(model, config.spec, text_vocab_size=len(tokenizer),
                                      action_vocab_size=config.n_bins,
                                      checkpoint_dir=checkpoint_dir)
    prompt = PromptEncoder(config.spec, tokenizer, state_stats=config.normalization.state,
                           state_bins=config.state_bins, tokens_per_image=tokens_per_image)
    processor = TokensProcessor(config, prompt, vocab_size=model_vocab_size(model))
    return TokensPolicy(model, processor, config, device=torch_device)
