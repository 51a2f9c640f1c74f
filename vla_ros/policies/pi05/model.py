# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""pi0.5 policy: a LeRobot pi0.5 folder as published, run with ``Pi05Network``.

``load`` is the registry's entry point (family ``pi05``). The folder gives the model, its
statistics and its prompt length; the YAML's ``policy`` section gives the joint and camera
mapping, the control period, the tokenizer folder and the dtype (``flow``'s LeRobot pi0
folders take the same fields). Everything is read locally and every tensor must come from the
file (``loading.py``). The sampling noise comes from a CPU generator seeded at construction,
so a freshly loaded policy repeats its outputs exactly.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from vla_ros.policies.checkpoint_policy import CheckpointPolicy
from vla_ros.policies.device import resolve_device, resolve_dtype
from vla_ros.policies.flow.lerobot_loader import load_tokenizer
from vla_ros.policies.flow.lerobot_pi0 import describe_lerobot
from vla_ros.policies.pi05.loading import load_network_strictly, policy_config
from vla_ros.policies.pi05.processor import Pi05Processor

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.pi05.config import Pi05PolicyConfig
    from vla_ros.policies.pi05.network import Pi05Network

__all__ = ['Pi05Policy', 'load']

logger = logging.getLogger(__name__)


class Pi05Policy(CheckpointPolicy['Pi05PolicyConfig', Pi05Processor]):
    """A pi0.5 policy; implements ``vla_ros.policies.base.Policy``.

    Each ``infer`` draws (1, chunk_size, max_action_dim) float32 noise on the CPU from a
    generator seeded with ``config.noise_seed``, then integrates ``num_denoising_steps`` Euler
    steps with the network.

    Args:
        network: the network, already on ``device``.
        processor: observation and action conversion.
        config: the policy's settings.
        device: where the network lives.
    """

    def __init__(self, network: Pi05Network, processor: Pi05Processor,
                 config: Pi05PolicyConfig, *, device: torch.device) -> None:
        super().__init__(processor, config, device=device)
        self._network = network.eval()
        self._dtype = next(network.parameters()).dtype
        settings = network.settings
        self._noise_shape = (1, settings.chunk_size, settings.max_action_dim)
        self._generator = torch.Generator(device='cpu').manual_seed(config.noise_seed)

    @property
    def network(self) -> Pi05Network:
        """The torch network (for parity checks and benchmarks)."""
        return self._network

    def sample(self, observation: Observation, noise: torch.Tensor) -> torch.Tensor:
        """The network's normalised (1, chunk_size, max_action_dim) output from ``noise``."""
        inputs = self._processor.prepare(observation).to(self._device, self._dtype)
        with self._lock, torch.inference_mode():
            return self._network.sample(inputs, noise.to(self._device),
                                        self._config.num_denoising_steps)

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next action chunk (absolute joint positions) for ``observation``.

        Raises:
            InputError: the observation does not fit the spec (camera, size, joint, instruction).
            PolicyOutputError: the network produced no valid chunk.
        """
        with self._lock:
            noise = torch.randn(self._noise_shape, generator=self._generator, dtype=torch.float32)
        return self._processor.to_action_chunk(self.sample(observation, noise))


def load(checkpoint_dir: Path, device: str, *,
         settings: PolicyConfig | None = None) -> Pi05Policy:
    """Load a LeRobot pi0.5 folder onto ``device`` (the registry's entry point).

    Raises:
        ConfigError: a folder that is not pi0.5 or that vla_ros does not support, weights that
            do not match exactly, a missing or wrong mapping or tokenizer, or a device that is
            not available.
    """
    checkpoint_dir = Path(checkpoint_dir)
    torch_device = resolve_device(device)
    dtype = resolve_dtype(None if settings is None else settings.dtype, torch_device)
    described = describe_lerobot(checkpoint_dir, policy_type='pi05')
    config = policy_config(described, settings)
    tokenizer = load_tokenizer(described, None if settings is None else settings.tokenizer)
    processor = Pi05Processor(config, tokenizer, max_action_dim=described.max_action_dim)
    network = load_network_strictly(described, dtype=dtype).to(torch_device)
    logger.info('pi0.5 policy loaded from %s (%s, %s)', checkpoint_dir, dtype, torch_device)
    return Pi05Policy(network, processor, config, device=torch_device)
