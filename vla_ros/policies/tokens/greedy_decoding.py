# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Greedy autoregressive decoding with a key/value cache, restricted to the allowed ids.

One forward pass over the prompt (the prefix-LM block, images included) fills the cache; each
further pass feeds only the last chosen token and appends its keys and values, so a chunk of
N tokens costs one prefill and N - 1 single-token steps. Each step picks the highest-scoring
id among the allowed ones (the action ids, plus the end token for FAST): a language model can
rank a text token first, and the decoders downstream would refuse it anyway. The allowed set
is a fixed mask or a rule of the ids generated so far (``NextTokenRule``; FAST uses one that
keeps the chunk's coefficient count in reach). Temperature 0, as OpenVLA and openpi decode,
so the same observation gives the same tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
import torch
from transformers import PaliGemmaForConditionalGeneration

from vla_ros.core.errors import ConfigError
from vla_ros.policies.tokens.prompt import PromptInputs

__all__ = ['NextTokenRule', 'allowed_ids_mask', 'greedy_decode']


class NextTokenRule(Protocol):
    """Which ids may come next, given the ids generated so far."""

    def __call__(self, generated: Sequence[int]) -> torch.Tensor:
        """A (vocab_size,) bool mask of the ids allowed after ``generated``."""
        ...


def allowed_ids_mask(vocab_size: int, first_id: int, count: int,
                     extra_ids: tuple[int, ...] = ()) -> torch.Tensor:
    """A (vocab_size,) bool mask: True for ``count`` ids from ``first_id`` and ``extra_ids``.

    Raises:
        ConfigError: a range or an extra id outside the vocabulary.
    """
    if first_id < 0 or count < 1 or first_id + count > vocab_size or any(
            not 0 <= extra < vocab_size for extra in extra_ids):
        raise ConfigError(f'allowed ids: {count} from {first_id} and {extra_ids!r} do not fit '
                          f'a vocabulary of {vocab_size}')
    mask = torch.zeros(vocab_size, dtype=torch.bool)
    mask[first_id:first_id + count] = True
    mask[list(extra_ids)] = True
    return mask


@torch.inference_mode()
def greedy_decode(model: PaliGemmaForConditionalGeneration, inputs: PromptInputs, *,
                  allowed: torch.Tensor | NextTokenRule, max_new_tokens: int,
                  end_id: int | None = None) -> NDArray[np.int64]:
    """Generate up to ``max_new_tokens`` ids after the prompt, greedily, with a KV cache.

    Args:
        model: the vision-language model, in eval mode, on the inputs' device.
        inputs: one observation's prompt (batch of one).
        allowed: (vocab_size,) bool mask of the ids that may be generated, or a rule that
            gives the mask for each step.
        max_new_tokens: most ids to generate.
        end_id: stop after generating this id (it is returned too); None runs to the budget.

    Returns:
        (N,) the generated ids, N <= ``max_new_tokens``.
    """
    device = inputs.input_ids.device
    rule: NextTokenRule | None = None
    if isinstance(allowed, torch.Tensor):
        fixed = ~allowed.to(device)
    else:
        rule, fixed = allowed, None
    output = model(input_ids=inputs.input_ids, pixel_values=inputs.pixel_values,
                   token_type_ids=inputs.token_type_ids, use_cache=True, logits_to_keep=1)
    cache = output.past_key_values
    generated: list[int] = []
    while True:
        forbidden = fixed if rule is None else ~rule(generated).to(device)
        logits = output.logits[0, -1].masked_fill(forbidden, -torch.inf)
        next_id = int(torch.argmax(logits))
        generated.append(next_id)
        if len(generated) >= max_new_tokens or next_id == end_id:
            break
        step_ids = torch.tensor([[next_id]], dtype=torch.long, device=device)
        output = model(input_ids=step_ids, past_key_values=cache, use_cache=True,
                       logits_to_keep=1)
        cache = output.past_key_values
    return np.asarray(generated, dtype=np.int64)
