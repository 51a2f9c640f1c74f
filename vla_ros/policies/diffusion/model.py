# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Diffusion policy (Diffusion Policy / Octo style head): DDIM over the action chunk.

A checkpoint directory holds ``vla_ros_policy.json`` (``config.py``: spec, normalization,
sizes, noise schedule, sampler), ``model.safetensors`` (the weights, no pickles) and
``tokenizer.json``. ``load`` rebuilds the network from the config and loads the weights
strictly; nothing is downloaded. Each ``infer`` encodes the observation once, then denoises
a (1, chunk_length, max_action_dim) chunk of noise with the configured sampler. The noise
comes from a CPU ``torch.Generator`` seeded with ``sampling.noise_seed`` when the policy is
built, so two policies loaded from one checkpoint return identical chunk sequences.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
import torch
from torch import nn

from vla_ros.core.errors import ConfigError
from vla_ros.policies.checkpoint_policy import CheckpointPolicy
from vla_ros.policies.device import resolve_device
from vla_ros.policies.diffusion.config import DiffusionPolicyConfig, WEIGHTS_FILENAME
from vla_ros.policies.diffusion.noise_network import NoiseNetwork
from vla_ros.policies.diffusion.noise_schedule import DiffusionProcess
from vla_ros.policies.diffusion.observation_encoder import ObservationEncoder
from vla_ros.policies.diffusion.processor import DiffusionProcessor

if TYPE_CHECKING:
    from vla_ros.core.types import ActionChunk, Observation
    from vla_ros.policies.diffusion.processor import ModelInputs

__all__ = ['DiffusionNetwork', 'DiffusionPolicy', 'build_network', 'load', 'save_checkpoint']


class DiffusionNetwork(nn.Module):
    """Observation encoder plus noise-prediction U-Net.

    Args:
        config: the sizes (``architecture``) and the number of cameras (``spec``).
    """

    def __init__(self, config: DiffusionPolicyConfig) -> None:
        super().__init__()
        self.encoder = ObservationEncoder(config.architecture, len(config.spec.camera_names))
        self.noise_network = NoiseNetwork(config.architecture)

    def encode(self, inputs: ModelInputs) -> torch.Tensor:
        """(B, cond_width) conditioning vectors of a batch of observations."""
        cond: torch.Tensor = self.encoder(inputs.images, inputs.input_ids,
                                          inputs.attention_mask, inputs.state)
        return cond

    def predict_noise(self, noisy: torch.Tensor, timesteps: torch.Tensor,
                      cond: torch.Tensor) -> torch.Tensor:
        """(B, L, D) noisy chunks at (B,) steps, given (B, cond_width) -> (B, L, D) noise."""
        noise: torch.Tensor = self.noise_network(noisy, timesteps, cond)
        return noise


def build_network(config: DiffusionPolicyConfig, *, seed: int = 0) -> DiffusionNetwork:
    """A freshly initialised network for ``config``; the global torch RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return DiffusionNetwork(config)


class DiffusionPolicy(CheckpointPolicy[DiffusionPolicyConfig, DiffusionProcessor]):
    """A diffusion policy; implements ``vla_ros.policies.base.Policy``.

    Args:
        network: the weights, already on ``device``.
        processor: observation and action conversion.
        config: the checkpoint's config.
        device: where the network runs.
    """

    def __init__(self, network: DiffusionNetwork, processor: DiffusionProcessor,
                 config: DiffusionPolicyConfig, *, device: torch.device) -> None:
        super().__init__(processor, config, device=device)
        network.eval()
        self._network = network
        self._process = DiffusionProcess(config.schedule)
        self._noise_shape = (1, config.spec.chunk_length, config.architecture.max_action_dim)
        self._generator = torch.Generator(device='cpu').manual_seed(config.sampling.noise_seed)

    @property
    def network(self) -> DiffusionNetwork:
        """The torch network (for tests and benchmarks)."""
        return self._network

    def infer(self, observation: Observation) -> ActionChunk:
        """Compute the next action chunk (absolute joint positions) for ``observation``.

        Raises:
            InputError: the observation does not fit the spec (camera, size, joint, instruction).
            PolicyOutputError: the network produced no valid chunk.
        """
        inputs = self._processor.prepare(observation).to(self._device)
        with self._lock, torch.inference_mode():
            cond = self._network.encode(inputs)
            noise = torch.randn(self._noise_shape, generator=self._generator)
            actions = self._process.sample(
                lambda noisy, steps: self._network.predict_noise(noisy, steps, cond),
                noise.to(self._device), self._config.sampling, self._generator)
        return self._processor.to_action_chunk(actions)

    def save(self, checkpoint_dir: Path) -> None:
        """Write a complete checkpoint (config, tokenizer, weights) into a directory."""
        save_checkpoint(checkpoint_dir, self._config, self._processor, self._network)


def save_checkpoint(checkpoint_dir: Path, config: DiffusionPolicyConfig,
                    processor: DiffusionProcessor, network: DiffusionNetwork) -> Path:
    """Write config, tokenizer and weights (safetensors) into ``checkpoint_dir``; return it."""
    checkpoint_dir = Path(checkpoint_dir)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    config.save(checkpoint_dir)
    processor.save(checkpoint_dir)
    weights = {name: tensor.detach().cpu().contiguous()
               for name, tensor in network.state_dict().items()}
    save_file(weights, str(checkpoint_dir / WEIGHTS_FILENAME), metadata={'format': 'pt'})
    return checkpoint_dir


def _load_network(checkpoint_dir: Path, config: DiffusionPolicyConfig,
                  device: torch.device) -> DiffusionNetwork:
    path = checkpoint_dir / WEIGHTS_FILENAME
    network = DiffusionNetwork(config)
    try:
        weights = load_file(str(path))
    except (OSError, SafetensorError) as err:
        raise ConfigError(f'{path}: cannot read the diffusion weights: {err}') from err
    expected = network.state_dict()
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    reshaped = sorted(name for name in set(expected) & set(weights)
                      if weights[name].shape != expected[name].shape)
    if missing or unexpected or reshaped:
        raise ConfigError(
            f"{path}: weights do not fit vla_ros_policy.json's architecture: "
            f'{len(missing)} missing (first {missing[:3]!r}), {len(unexpected)} unexpected '
            f'(first {unexpected[:3]!r}), {len(reshaped)} of another shape '
            f'(first {reshaped[:3]!r})')
    network.load_state_dict(weights, strict=True)
    return network.to(device)


def load(checkpoint_dir: Path, device: str) -> DiffusionPolicy:
    """Load a diffusion checkpoint from a local directory onto ``device`` (the registry's entry).

    Raises:
        ConfigError: a missing or invalid file, files that disagree with each other, or a
            device that is not available.
    """
    checkpoint_dir = Path(checkpoint_dir)
    torch_device = resolve_device(device)
    config = DiffusionPolicyConfig.load(checkpoint_dir)
    processor = DiffusionProcessor.from_checkpoint(checkpoint_dir, config)
    network = _load_network(checkpoint_dir, config, torch_device)
    return DiffusionPolicy(network, processor, config, device=torch_device)
