# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Several requests' model inputs as one batch, for ``FlowPolicy.infer_batch``.

Each observation is prepared alone by ``FlowProcessor.prepare`` (batch of one, its own checks),
then the rows are stacked. Prompts of different lengths are padded on the tokenizer's side with
its pad token and attention 0; the sampler never attends to padded tokens and counts positions
over real tokens only, so a padded row computes what it computes alone, up to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

import torch

from vla_ros.policies.flow.processor import ModelInputs

__all__ = ['PaddingSide', 'stack_inputs']


class PaddingSide(Enum):
    """Where a short prompt's padding goes (a tokenizer's ``padding_side``)."""

    LEFT = 'left'
    RIGHT = 'right'


def _pad(tokens: torch.Tensor, length: int, value: int, side: PaddingSide) -> torch.Tensor:
    """(1, L) -> (1, length), ``value`` added on ``side``."""
    missing = length - tokens.shape[1]
    padding = (missing, 0) if side is PaddingSide.LEFT else (0, missing)
    return torch.nn.functional.pad(tokens, padding, value=value)


def stack_inputs(rows: Sequence[ModelInputs], *, pad_token_id: int,
                 side: PaddingSide) -> ModelInputs:
    """One (B, ...) batch from B batch-of-one inputs, in order.

    Args:
        rows: prepared inputs, each with a batch dimension of 1 and the same cameras.
        pad_token_id: the tokenizer's pad token, written where a prompt is shorter.
        side: the tokenizer's padding side.
    """
    assert rows, 'stack_inputs needs at least one row'
    length = max(row.input_ids.shape[1] for row in rows)
    return ModelInputs(
        input_ids=torch.cat([_pad(row.input_ids, length, pad_token_id, side) for row in rows]),
        attention_mask=torch.cat([_pad(row.attention_mask, length, 0, side) for row in rows]),
        pixel_values=torch.cat([row.pixel_values for row in rows]),
        pixel_attention_mask=torch.cat([row.pixel_attention_mask for row in rows]),
        state=torch.cat([row.state for row in rows]))
