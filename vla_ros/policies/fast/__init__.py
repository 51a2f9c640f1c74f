# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""pi0-FAST policies: FAST action tokens (DCT, rounding, BPE) decoded by a PaliGemma.

A ``fast`` checkpoint is a LeRobot ``pi0_fast`` folder, released or trained here
(``lerobot_pi0_fast``, ``lerobot_fast_policy``, ``pi0_fast_prompt``, ``pi0_fast_folder``,
``released_tokenizer``); the legacy vla_ros format (``model.FastPolicy``, ``config``,
``fast_tokenizer``, ``processor``) is still read, never written. ``dct``, ``fast_tokenizer``
(numpy and ``tokenizers``) and ``config`` load eagerly; ``model`` (the registry's ``load``),
``processor``, ``checkpoint`` and ``train`` import torch and transformers, so their names
resolve lazily, on first access.
"""

from __future__ import annotations

import importlib
from typing import Any, TYPE_CHECKING

from vla_ros.policies.fast.config import FastPolicyConfig
from vla_ros.policies.fast.dct import dct_ortho, idct_ortho, max_rounding_error
from vla_ros.policies.fast.fast_tokenizer import (
    CONFIG_FILENAME,
    DEFAULT_SCALE,
    FastConfig,
    FastTokenizer,
    TOKENIZER_FILENAME,
)

if TYPE_CHECKING:
    from vla_ros.policies.fast.checkpoint import create_random_checkpoint
    from vla_ros.policies.fast.model import FastPolicy, load
    from vla_ros.policies.fast.processor import FastProcessor
    from vla_ros.policies.fast.train import train

__all__ = [
    'CONFIG_FILENAME', 'DEFAULT_SCALE', 'FastConfig', 'FastPolicy', 'FastPolicyConfig',
    'FastProcessor', 'FastTokenizer', 'TOKENIZER_FILENAME', 'create_random_checkpoint',
    'dct_ortho', 'idct_ortho', 'load', 'max_rounding_error', 'train',
]

#: Public name -> submodule that defines it (the torch-importing ones).
_HOMES = {
    'FastPolicy': 'model', 'load': 'model', 'FastProcessor': 'processor',
    'create_random_checkpoint': 'checkpoint', 'train': 'train',
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_HOMES[name]}'), name)
