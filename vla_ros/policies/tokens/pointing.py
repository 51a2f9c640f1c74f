# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The token families' side of pointing pre-training (``vla_ros.policies.pointing``).

``tokens`` and ``fast`` share one prompt layout (``prompt.py``): image placeholders, ``<bos>``,
then ``Task: {instruction}, State: ...``. Pointing pre-training reads the VLM's hidden state at
the last token of ``Task: {instruction},``, the part of that prompt that names the object, so
what it teaches sits in the prefix the action tokens are decoded from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from vla_ros.core.instructions import normalize_instruction
from vla_ros.policies.pointing import padded_prompts, PointingObjective, train_pointing
from vla_ros.policies.tokens.prompt import pixels_to_model
from vla_ros.policies.training_loop import torch_threads

if TYPE_CHECKING:
    from transformers import PaliGemmaForConditionalGeneration

    from vla_ros.core.pointing_set import PointingSet
    from vla_ros.policies.pointing import PointingResult, PromptReadout
    from vla_ros.policies.tokens.prompt import PromptEncoder
    from vla_ros.policies.tokens.teacher_forcing import TrainingConfig

__all__ = ['pretrain', 'prompt_readout']


def prompt_readout(model: PaliGemmaForConditionalGeneration, prompt: PromptEncoder,
                   prompts: Sequence[str]) -> PromptReadout:
    """The readout of ``model``'s VLM for pointing at what each of ``prompts`` names."""
    input_ids, attention_mask = padded_prompts(
        [prompt.task_ids(normalize_instruction(text)).tolist() for text in prompts])
    last_token = attention_mask.sum(dim=1) - 1

    def readout(images: torch.Tensor, prompt_index: torch.Tensor) -> torch.Tensor:
        mask = attention_mask[prompt_index]
        hidden = model.model(
            input_ids=input_ids[prompt_index], attention_mask=mask,
            token_type_ids=torch.zeros_like(mask),
            pixel_values=pixels_to_model(images.flatten(0, 1))).last_hidden_state
        selected: torch.Tensor = hidden[torch.arange(len(prompt_index)), last_token[prompt_index]]
        return selected
    return readout


def pretrain(model: PaliGemmaForConditionalGeneration, prompt: PromptEncoder, data: PointingSet,
             config: TrainingConfig) -> tuple[PointingResult, PointingObjective]:
    """Pointing pre-training of ``model``'s VLM, then its vision tower frozen if configured.

    Returns the outcome and the objective, head included, for co-training
    (``TrainingConfig.pointing_weight``) to continue.

    Raises:
        ConfigError: a pointing set whose cameras or image size differ from the policy's.
    """
    data.check_fits(prompt.spec)
    readout = prompt_readout(model, prompt, [text for text, _ in data.prompts])
    objective = PointingObjective(readout, width=config.size.width, data=data,
                                  config=config.pointing)
    with torch_threads(config.torch_threads):
        model.train()
        try:
            result = train_pointing(objective, list(model.model.parameters()), config.pointing)
        finally:
            model.eval()  # type: ignore[no-untyped-call]
    if config.freeze_vision:
        model.model.vision_tower.requires_grad_(False)
    return result, objective
