# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The flow family's side of pointing pre-training (``vla_ros.policies.pointing``).

PI0 builds its prefix from the cameras' image tokens and the instruction's tokens and runs it
through its PaliGemma VLM; the action expert then attends to that prefix, layer by layer: its
layer l reads the keys and values the VLM's layer l computes from its own input. So the VLM's
final hidden state (after its last layer), which pointing reads by default (``'output'``), is
never what the expert sees: in a two-layer VLM the expert's deepest look at the prefix is the
input of the VLM's last layer, one layer of words meeting pixels. ``'attended'`` reads the
prompt's last token there instead (after that layer's input norm, what its key and value
projections take), so that the binding pointing teaches lies in what the expert attends to.
The prompts are tokenized once, exactly as
``FlowProcessor.prepare`` does; the images are converted on the fly with the checkpoint image
processor's own rescale and normalization, which equals its output for images already at the
model's size (``test_pointing_pixels_match_the_processor``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.instructions import normalize_instruction
from vla_ros.policies.pointing import padded_prompts

if TYPE_CHECKING:
    from transformers import PI0ForConditionalGeneration, PI0Processor

    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.pointing import PromptReadout

__all__ = ['READOUTS', 'pixel_values', 'prompt_readout']

#: Where pointing reads the prompt's last token (module docstring).
READOUTS = ('output', 'attended')


def pixel_values(images: torch.Tensor, hf_processor: PI0Processor) -> torch.Tensor:
    """(B, C, H, W, 3) uint8 images -> (B, C, 3, H, W) float32 model input."""
    image_processor = hf_processor.image_processor
    mean = torch.tensor(image_processor.image_mean, dtype=torch.float32)[:, None, None]
    std = torch.tensor(image_processor.image_std, dtype=torch.float32)[:, None, None]
    scaled = images.permute(0, 1, 4, 2, 3).float() * float(image_processor.rescale_factor)
    return (scaled - mean) / std


def prompt_readout(model: PI0ForConditionalGeneration, hf_processor: PI0Processor,
                   prompts: Sequence[str], spec: PolicySpec, *,
                   layer: str = 'output') -> PromptReadout:
    """The readout of ``model``'s VLM for pointing at what each of ``prompts`` names.

    ``layer`` is one of ``READOUTS``: the VLM's final hidden state, or the normalized input of
    its last layer (module docstring).

    Raises:
        ConfigError: another ``layer``.
    """
    if layer not in READOUTS:
        raise ConfigError(f'pointing readout: {layer!r}, expected one of {", ".join(READOUTS)}')
    blank = [np.zeros((spec.image_height, spec.image_width, 3), np.uint8)] * len(spec.camera_names)
    encoded = [hf_processor(images=[blank], text=normalize_instruction(prompt),
                            input_data_format='channels_last', return_tensors='pt')
               for prompt in prompts]
    input_ids, attention_mask = padded_prompts(  # the processor pads on the right
        [each['input_ids'][0][each['attention_mask'][0].bool()].tolist() for each in encoded])
    last_token = attention_mask.sum(dim=1) - 1
    pi0 = model.model
    last_norm = pi0.vlm.language_model.layers[-1].input_layernorm

    def readout(images: torch.Tensor, prompt_index: torch.Tensor) -> torch.Tensor:
        batch = len(prompt_index)
        mask = attention_mask[prompt_index]
        prefix = pi0.embed_prefix(
            input_ids[prompt_index], pixel_values(images, hf_processor),
            torch.ones((batch, len(spec.camera_names)), dtype=torch.bool))
        attended: list[torch.Tensor] = []
        hook = None if layer == 'output' else last_norm.register_forward_hook(
            lambda _module, _inputs, output: attended.append(output))
        try:
            hidden = pi0.vlm(inputs_embeds=prefix, attention_mask=mask,
                             position_ids=mask.cumsum(-1) - 1,
                             token_type_ids=torch.zeros_like(mask)).last_hidden_state
        finally:
            if hook is not None:
                hook.remove()
        if attended:
            (hidden,) = attended
        selected: torch.Tensor = hidden[torch.arange(batch), last_token[prompt_index]]
        return selected
    return readout
