# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``policy.device`` and ``policy.dtype`` as torch objects, for every torch-based family.

Parsing a device string needs torch but none of any family's model code, so this module is
shared by all families and imports torch only when called: loading a diffusion or token
policy does not import the flow family's transformers stack to read ``'cpu'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vla_ros.core.errors import ConfigError
from vla_ros.core.policy_mapping import ModelDtype

if TYPE_CHECKING:
    import torch

__all__ = ['resolve_device', 'resolve_dtype']


def resolve_device(device: str) -> torch.device:
    """Parse ``device`` ('cpu', 'cuda', 'cuda:N') and check that it exists.

    Raises:
        ConfigError: not a torch device, not CPU or CUDA, or CUDA that is not there. A missing
            GPU is an error rather than a quiet fallback to the CPU.
    """
    import torch

    try:
        torch_device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(f'policy.device: {device!r} is not a torch device') from err
    if torch_device.type == 'cpu':
        return torch_device
    if torch_device.type != 'cuda':
        raise ConfigError(f'policy.device: {device!r}, expected cpu, cuda or cuda:N')
    if not torch.cuda.is_available():
        raise ConfigError(
            f'policy.device: {device!r} but CUDA is not available (torch {torch.__version__}, '
            f'built for CUDA {torch.version.cuda}); set device to cpu to run on the CPU')
    count = torch.cuda.device_count()
    if torch_device.index is not None and torch_device.index >= count:
        raise ConfigError(f'policy.device: {device!r} but only {count} CUDA devices exist')
    return torch_device


def resolve_dtype(dtype: ModelDtype | None, device: torch.device) -> torch.dtype:
    """The torch dtype for ``policy.dtype``; unset: bfloat16 on a GPU, float32 on the CPU."""
    import torch

    if dtype is None:
        return torch.float32 if device.type == 'cpu' else torch.bfloat16
    return {ModelDtype.FLOAT32: torch.float32, ModelDtype.BFLOAT16: torch.bfloat16,
            ModelDtype.FLOAT16: torch.float16}[dtype]
