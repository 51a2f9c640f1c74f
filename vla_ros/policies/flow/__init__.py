# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Flow-matching policies (pi0) on transformers' ``PI0ForConditionalGeneration``.

``config`` (what the checkpoint stores besides the weights) imports numpy only; ``model``,
``processor`` and ``checkpoint`` import torch and transformers. The names below are therefore
resolved lazily, on first access, so importing this package does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:
    from vla_ros.policies.flow.checkpoint import create_random_checkpoint
    from vla_ros.policies.flow.config import FeatureStats, FlowPolicyConfig, Normalization
    from vla_ros.policies.flow.model import FlowPolicy, load
    from vla_ros.policies.flow.processor import FlowProcessor

__all__ = [
    'FeatureStats', 'FlowPolicy', 'FlowPolicyConfig', 'FlowProcessor', 'Normalization',
    'create_random_checkpoint', 'load',
]

#: Public name -> submodule that defines it.
_HOMES = {
    'FeatureStats': 'config', 'FlowPolicyConfig': 'config', 'Normalization': 'config',
    'FlowPolicy': 'model', 'load': 'model', 'FlowProcessor': 'processor',
    'create_random_checkpoint': 'checkpoint',
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_HOMES[name]}'), name)
