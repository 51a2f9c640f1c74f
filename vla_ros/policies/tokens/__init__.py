# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Discrete-token policies (RT-2, OpenVLA): one vocabulary token per action dimension and step.

``action_tokenizer`` and ``config`` import numpy only and load eagerly. ``model`` (the policy
and the registry's ``load``), ``processor``, ``checkpoint``, ``train`` and ``openvla`` import
torch and transformers, so their names resolve lazily, on first access. The ``fast`` family
reuses this package's prompt, decoding and training modules.
"""

from __future__ import annotations

import importlib
from typing import Any, TYPE_CHECKING

from vla_ros.policies.tokens.action_tokenizer import (
    ActionTokenizer,
    BinLayout,
    decode_actions,
    encode_actions,
)
from vla_ros.policies.tokens.config import ActionSpace, TokenNormalization, TokensPolicyConfig

if TYPE_CHECKING:
    from vla_ros.policies.tokens.checkpoint import create_random_checkpoint
    from vla_ros.policies.tokens.model import load, TokensPolicy
    from vla_ros.policies.tokens.openvla import OpenVlaPolicy
    from vla_ros.policies.tokens.processor import TokensProcessor
    from vla_ros.policies.tokens.train import train

__all__ = [
    'ActionSpace', 'ActionTokenizer', 'BinLayout', 'OpenVlaPolicy', 'TokenNormalization',
    'TokensPolicy', 'TokensPolicyConfig', 'TokensProcessor', 'create_random_checkpoint',
    'decode_actions', 'encode_actions', 'load', 'train',
]

#: Public name -> submodule that defines it (the torch-importing ones).
_HOMES = {
    'TokensPolicy': 'model', 'load': 'model', 'TokensProcessor': 'processor',
    'create_random_checkpoint': 'checkpoint', 'train': 'train', 'OpenVlaPolicy': 'openvla',
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_HOMES[name]}'), name)
