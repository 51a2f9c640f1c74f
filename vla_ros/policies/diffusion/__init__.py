# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Diffusion policies: a vision-language encoder and a DDPM-trained, DDIM-sampled chunk head.

``config`` (what the checkpoint stores besides the weights) imports numpy only; the other
modules import torch and transformers. The names below are therefore resolved lazily, on
first access, so importing this package does not load torch. Training is
``vla_ros.policies.diffusion.train.train`` (the module ``train`` is not re-exported, since
its name is the function's).
"""

from __future__ import annotations

import importlib
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:
    from vla_ros.policies.diffusion.checkpoint import create_random_checkpoint
    from vla_ros.policies.diffusion.config import (
        Architecture,
        BetaSchedule,
        DiffusionPolicyConfig,
        NoiseSchedule,
        Sampler,
        Sampling,
    )
    from vla_ros.policies.diffusion.model import DiffusionPolicy, load
    from vla_ros.policies.diffusion.processor import DiffusionProcessor
    from vla_ros.policies.diffusion.train import TrainingConfig

__all__ = [
    'Architecture', 'BetaSchedule', 'DiffusionPolicy', 'DiffusionPolicyConfig',
    'DiffusionProcessor', 'NoiseSchedule', 'Sampler', 'Sampling', 'TrainingConfig',
    'create_random_checkpoint', 'load',
]

#: Public name -> submodule that defines it.
_HOMES = {
    'Architecture': 'config', 'BetaSchedule': 'config', 'DiffusionPolicyConfig': 'config',
    'NoiseSchedule': 'config', 'Sampler': 'config', 'Sampling': 'config',
    'DiffusionPolicy': 'model', 'load': 'model', 'DiffusionProcessor': 'processor',
    'TrainingConfig': 'train', 'create_random_checkpoint': 'checkpoint',
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_HOMES[name]}'), name)
