# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""What every checkpoint family's policy class holds: config, processor, device, one lock.

A family's policy (``FlowPolicy``, ``DiffusionPolicy``, ``TokensPolicy``, ``Pi05Policy``,
``OpenVlaPolicy``) derives from ``CheckpointPolicy`` and adds its model and its ``infer``;
the contract (``spec``), the checkpoint's config and the processor are read the same way in
every family, and ``_lock`` serialises inference (the node's worker and a server's clients
may call ``infer`` from different threads).
"""

from __future__ import annotations

import threading
from typing import Generic, Protocol, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import torch

    from vla_ros.core.policy import PolicySpec

__all__ = ['CheckpointPolicy', 'HasSpec']


class HasSpec(Protocol):
    """A family config: it holds the policy's contract."""

    @property
    def spec(self) -> PolicySpec:
        """The policy's fixed input and output contract."""
        ...


_Config = TypeVar('_Config', bound=HasSpec)
_Processor = TypeVar('_Processor')


class CheckpointPolicy(Generic[_Config, _Processor]):
    """The shared part of a checkpoint family's policy.

    Args:
        processor: the family's observation and action conversion.
        config: the checkpoint's config (its ``spec`` is the policy's).
        device: where the family's model lives.
    """

    def __init__(self, processor: _Processor, config: _Config, *,
                 device: torch.device) -> None:
        self._processor = processor
        self._config = config
        self._device = device
        self._lock = threading.Lock()

    @property
    def spec(self) -> PolicySpec:
        """The policy's fixed input and output contract."""
        return self._config.spec

    @property
    def config(self) -> _Config:
        """The checkpoint's config."""
        return self._config

    @property
    def processor(self) -> _Processor:
        """The observation and action conversion in use."""
        return self._processor
