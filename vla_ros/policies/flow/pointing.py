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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from vla_ros.core.errors import ConfigError
from vla_ros.core.instructions import normalize_instruction
from vla_ros.policies.flow.config import POINTED_SLOTS
from vla_ros.policies.pointing import padded_prompts

if TYPE_CHECKING:
    from transformers import PI0ForConditionalGeneration, PI0Processor

    from vla_ros.policies.base import PolicySpec
    from vla_ros.policies.flow.config import PointedState
    from vla_ros.policies.pointing import PromptReadout

__all__ = ['READOUTS', 'QueryTokens', 'StatePointer', 'pixel_values', 'pointed_into_state',
           'prompt_readout', 'query_tokens', 'vlm_readout']

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
    input_ids, attention_mask = padded_prompts(  # on the right
        [query_tokens(hf_processor, spec, prompt)[0][0].tolist() for prompt in prompts])
    last_token = attention_mask.sum(dim=1) - 1

    def readout(images: torch.Tensor, prompt_index: torch.Tensor) -> torch.Tensor:
        batch = len(prompt_index)
        return vlm_readout(
            model, input_ids[prompt_index], attention_mask[prompt_index],
            pixel_values(images, hf_processor),
            torch.ones((batch, len(spec.camera_names)), dtype=torch.bool),
            last_token=last_token[prompt_index], layer=layer)
    return readout


def vlm_readout(model: PI0ForConditionalGeneration, input_ids: torch.Tensor,
                attention_mask: torch.Tensor, pixels: torch.Tensor,
                pixel_attention_mask: torch.Tensor, *, last_token: torch.Tensor | None = None,
                layer: str = 'output') -> torch.Tensor:
    """(B, width) the VLM's hidden state at each row's last real prompt token.

    The prefix is the model's own (``embed_prefix``: image tokens, then the prompt), run
    through the VLM alone; ``layer`` picks the final hidden state or the last layer's normed
    input (``READOUTS``). ``last_token`` (B,) defaults to each row's last unmasked position,
    so right- and left-padded batches both read their prompt's end.
    """
    pi0 = model.model
    if last_token is None:
        length = attention_mask.shape[1]
        last_token = length - 1 - attention_mask.flip(1).argmax(dim=1)
    batch = len(input_ids)
    prefix = pi0.embed_prefix(input_ids, pixels, pixel_attention_mask)
    attended: list[torch.Tensor] = []
    hook = None if layer == 'output' else (
        pi0.vlm.language_model.layers[-1].input_layernorm.register_forward_hook(
            lambda _module, _inputs, output: attended.append(output)))
    try:
        hidden = pi0.vlm(inputs_embeds=prefix, attention_mask=attention_mask,
                         position_ids=attention_mask.cumsum(-1) - 1,
                         token_type_ids=torch.zeros_like(attention_mask)).last_hidden_state
    finally:
        if hook is not None:
            hook.remove()
    if attended:
        (hidden,) = attended
    selected: torch.Tensor = hidden[torch.arange(batch), last_token]
    return selected


#: A fixed query's prompt tokens: (input_ids (1, L), attention_mask (1, L)), image tokens first.
QueryTokens = tuple[torch.Tensor, torch.Tensor]


def query_tokens(hf_processor: PI0Processor, spec: PolicySpec, text: str) -> QueryTokens:
    """The model's prompt for ``text``: image placeholders, BOS, the text, newline.

    Tokenized as pointing pre-training tokenizes its prompts (``prompt_readout``).
    """
    blank = [np.zeros((spec.image_height, spec.image_width, 3), np.uint8)] * len(spec.camera_names)
    encoded = hf_processor(images=[blank], text=normalize_instruction(text),
                           input_data_format='channels_last', return_tensors='pt')
    real = encoded['attention_mask'][0].bool()
    input_ids = encoded['input_ids'][0][real][None]
    return input_ids, torch.ones_like(input_ids)


def pointed_into_state(model: PI0ForConditionalGeneration,
                       head: Callable[[torch.Tensor], torch.Tensor], *, layer: str, slot: int,
                       input_ids: torch.Tensor, attention_mask: torch.Tensor,
                       pixels: torch.Tensor, pixel_attention_mask: torch.Tensor,
                       state: torch.Tensor,
                       queries: Sequence[QueryTokens | None] = (None,)) -> torch.Tensor:
    """``state`` with two columns per query, from ``slot`` on, set to the points it finds.

    Each point is what ``head`` makes of the VLM's readout of these images with the query's
    prompt: None is the instruction itself (``input_ids``, the named object), a
    ``query_tokens`` pair a fixed text ("the yellow square"). The points are normalized
    (x, y); ``state`` is (B, max_state_dim). Computed without gradients: the action loss does
    not train the pointing head or the VLM through this input (co-training does, on its own
    loss). A new tensor; ``state`` is kept.
    """
    filled = state.clone()
    batch = len(input_ids)
    with torch.no_grad():
        for index, query in enumerate(queries):
            ids, mask = (input_ids, attention_mask) if query is None else (
                query[0].to(input_ids.device).expand(batch, -1),
                query[1].to(attention_mask.device).expand(batch, -1))
            point = head(vlm_readout(model, ids, mask, pixels, pixel_attention_mask,
                                     layer=layer))
            start = slot + POINTED_SLOTS * index
            filled[:, start:start + POINTED_SLOTS] = point.to(state.dtype)
    return filled


class StatePointer:
    """A checkpoint's pointing head (``FlowPolicyConfig.pointed_state``), ready to fill states.

    Args:
        pointed: the stored head.
        slot: the first state column it fills: the number of state joints.
        device: where the model lives.
        dtype: the model's floating dtype.
        hf_processor: the checkpoint's processor, to tokenize fixed queries.
        spec: the policy's cameras and image size (for the image placeholders).
    """

    def __init__(self, pointed: PointedState, *, slot: int, device: torch.device,
                 dtype: torch.dtype, hf_processor: PI0Processor, spec: PolicySpec) -> None:
        self._pointed = pointed
        self._queries = [None if not text else query_tokens(hf_processor, spec, text)
                         for text in pointed.queries]
        self._slot = slot
        self._weight = torch.tensor(pointed.weight, dtype=dtype, device=device)
        self._bias = torch.tensor(pointed.bias, dtype=dtype, device=device)

    def head(self, readout: torch.Tensor) -> torch.Tensor:
        """(B, 2) normalized (x, y) from (B, width) readouts."""
        return torch.nn.functional.linear(readout, self._weight, self._bias)

    def fill(self, model: PI0ForConditionalGeneration, *, input_ids: torch.Tensor,
             attention_mask: torch.Tensor, pixels: torch.Tensor,
             pixel_attention_mask: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """``pointed_into_state`` with this head and readout layer."""
        return pointed_into_state(
            model, self.head, layer=self._pointed.readout, slot=self._slot,
            input_ids=input_ids, attention_mask=attention_mask, pixels=pixels,
            pixel_attention_mask=pixel_attention_mask, state=state, queries=self._queries)
