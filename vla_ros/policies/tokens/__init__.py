# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Discrete-token policies (RT-2, OpenVLA): one vocabulary token per action dimension and step.

Today this package holds the action tokenizer alone (numpy only); the model and processor
modules come with the family's registration.
"""

from __future__ import annotations

from vla_ros.policies.tokens.action_tokenizer import (
    ActionTokenizer,
    BinLayout,
    decode_actions,
    encode_actions,
)

__all__ = ['ActionTokenizer', 'BinLayout', 'decode_actions', 'encode_actions']
