# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``fast`` family's loader: a LeRobot pi0_fast folder, or a legacy vla_ros checkpoint.

``load`` (the registry's entry point) reads a LeRobot ``pi0_fast`` folder, released or trained
here (``lerobot_fast_policy.py``). ``FastPolicy`` is the legacy format, read-only: nothing
writes it any more; the shipped ``checkpoints/fast/reach`` and ``reach_ee`` still have it
(they cannot be converted exactly: their models were trained on another prompt). A legacy
checkpoint directory holds the PaliGemma files (``config.json``,
``model.safetensors``), the text tokenizer (``tokenizer.json``, ``tokenizer_config.json``), the
FAST tokenizer (``fast_config.json``, ``fast_tokenizer.json``) and ``vla_ros_policy.json``.
``infer`` builds the prompt (the ``tokens`` family's), decodes greedily with a KV cache among
the FAST ids and the end token until the end token or the budget (optionally only ids that
keep the chunk at exactly chunk_length x joints coefficients, ``length_rule.py``), and decodes
the FAST ids; a malformed sequence raises PolicyOutputError, so the policy node holds position
instead of executing a guessed chunk. Everything is read locally; nothing is downloaded.
"""

from __future__ import annotations

import logging
from pathlib import Path
import threading
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
import torch
from transformers import PaliGemmaForConditionalGeneration

from vla_ros.core.errors import ConfigError
from vla_ros.policies.device import resolve_device
from vla_ros.policies.fast.config import FastPolicyConfig
from vla_ros.policies.fast.fast_tokenizer import FastTokenizer, TOKENIZER_FILENAME
from vla_ros.policies.fast.length_rule import ChunkLengthRule, symbols_per_id
from vla_ros.policies.fast.lerobot_fast_policy import LeRobotFastPolicy, load_lerobot_pi0_fast
from vla_ros.policies.fast.lerobot_pi0_fast import is_lerobot_folder
from vla_ros.policies.fast.processor import FastProcessor
from vla_ros.policies.tokens.greedy_decoding import allowed_ids_mask, greedy_decode
from vla_ros.policies.tokens.model import check_vlm_fits
from vla_ros.policies.tokens.prompt import PromptEncoder
from vla_ros.policies.tokens.vlm import load_text_tokenizer, load_vlm, model_vocab_size

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.base import PolicySpec

__all__ = ['FastPolicy', 'load']

_LOG = logging.getLogger(__name__)


class FastPolicy:
    """A FAST-token policy; implements ``vla_ros.policies.base.Policy``.

    Args:
        model: the vision-language model, on ``device``.
        processor: prompt building and FAST decoding.
        config: the checkpoint's vla_ros config.
        symbols: (F,) coefficients per FAST id, for length-constrained decoding.
        device: where the model lives.
    """

    def __init__(self, model: PaliGemmaForConditionalGeneration, processor: FastProcessor,
                 config: FastPolicyConfig, *, symbols: NDArray[np.int64],
                 device: torch.device) -> None:
        model.eval()  # type: ignore[no-untyped-call]
        self._model = model
        self._processor = processor
        self._config = config
        self._device = device
        vocab_size = model_vocab_size(model)
        self._allowed: torch.Tensor | ChunkLengthRule = allowed_ids_mask(
            vocab_size, processor.first_fast_id, processor.fast_tokenizer.vocab_size,
            extra_ids=(processor.end_id,))
        if config.length_constrained:
            self._allowed = ChunkLengthRule(
                symbols, coefficients=config.spec.chunk_length * len(config.spec.joint_names),
                vocab_size=vocab_size, end_id=processor.end_id)
        self._lock = threading.Lock()

    @property
    def spec(self) -> PolicySpec:
        """The policy's fixed input and output contract."""
        return self._config.spec

    @property
    def config(self) -> FastPolicyConfig:
        """The checkpoint's vla_ros config."""
        return self._config

    @property
    def model(self) -> PaliGemmaForConditionalGeneration:
        """The underlying transformers model."""
        return self._model

    @property
    def processor(self) -> FastProcessor:
        """The observation and token conversion in use."""
        return self._processor

    def generate_ids(self, observation: Observation) -> NDArray[np.int64]:
        """The raw generated ids for ``observation`` (FAST ids, then the end token if any).

        Raises:
            InputError: the observation does not fit the spec.
        """
        inputs = self._processor.prepare(observation).to(self._device)
        with self._lock:
            return greedy_decode(self._model, inputs, allowed=self._allowed,
                                 max_new_tokens=self._config.max_new_tokens,
                                 end_id=self._processor.end_id)

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next action chunk (absolute joint positions) for ``observation``.

        Raises:
            InputError: the observation does not fit the spec (camera, size, joint, instruction).
            PolicyOutputError: the generated tokens are no valid FAST chunk.
        """
        token_ids = self.generate_ids(observation)
        positions = observation.positions_for(self.spec.joint_names)
        return self._processor.to_action_chunk(token_ids, positions)


def load(checkpoint_dir: Path, device: str, *,
         settings: PolicyConfig | None = None) -> FastPolicy | LeRobotFastPolicy:
    """Load a ``fast`` checkpoint onto ``device`` (the registry's entry point).

    A LeRobot pi0-FAST folder (``config.json`` with ``"type"``) loads as published
    (``lerobot_fast_policy.py``) under the ``policy`` section's mapping (``settings``); a
    vla_ros checkpoint states its contract itself, so those fields are refused for it.

    Raises:
        ConfigError: a missing or invalid file, files that disagree, a mapping field the
            layout does not read, or a device that is not available.
    """
    checkpoint_dir = Path(checkpoint_dir)
    if is_lerobot_folder(checkpoint_dir):
        return load_lerobot_pi0_fast(
            checkpoint_dir, device, settings,
            length_constrained=settings is not None and settings.decoding == 'length_constrained')
    fields = () if settings is None else settings.layout_settings()
    if fields:
        raise ConfigError(f'policy.{fields[0]}: {checkpoint_dir} is a vla_ros fast checkpoint, '
                          'which says this itself; remove it')
    torch_device = resolve_device(device)
    config = FastPolicyConfig.load(checkpoint_dir)
    _LOG.warning('%s is a legacy vla_ros fast checkpoint (vla_ros_policy.json), read-only and '
                 'not the released pi0_fast layout; `vla-ros train --family fast` writes that',
                 checkpoint_dir)
    fast_tokenizer = FastTokenizer.load(checkpoint_dir)
    model = load_vlm(checkpoint_dir, torch_device)
    tokenizer = load_text_tokenizer(checkpoint_dir)
    tokens_per_image = check_vlm_fits(model, config.spec, text_vocab_size=len(tokenizer),
                                      action_vocab_size=fast_tokenizer.vocab_size,
                                      checkpoint_dir=checkpoint_dir)
    prompt = PromptEncoder(config.spec, tokenizer, state_stats=config.normalization.state,
                           state_bins=config.state_bins, tokens_per_image=tokens_per_image)
    end_id = tokenizer.eos_token_id
    if end_id is None:
        raise ConfigError(f'{checkpoint_dir}: the tokenizer has no end token (eos_token)')
    processor = FastProcessor(config, prompt, fast_tokenizer,
                              vocab_size=model_vocab_size(model), end_id=end_id)
    symbols = symbols_per_id(checkpoint_dir / TOKENIZER_FILENAME,
                             vocab_size=fast_tokenizer.vocab_size)
    return FastPolicy(model, processor, config, symbols=symbols, device=torch_device)
