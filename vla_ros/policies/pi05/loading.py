# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0.5 folder -> ``Pi05Network`` with every tensor from the file, and its config.

The folder is read with the flow family's LeRobot reader (``describe_lerobot``: same layout,
same config keys and processor files as pi0), the YAML mapping with the same ``mapped_spec``,
the tokenizer with the same ``load_tokenizer``; transformers' PaliGemma and Gemma configs come
from the same ``paligemma_config`` / ``gemma_config``. What differs is the network and how the
weights are matched: LeRobot's names are the network's own with a ``model.`` prefix (and
SigLIP's ``vision_model.`` level, which transformers 5 dropped), so the match is by name, one
to one, with two exceptions that LeRobot's files have: the language
model's embedding is stored once, as ``paligemma.lm_head.weight`` (the two are tied), and the
expert's unused ``lm_head.weight`` is checked for its shape and not kept in memory. Any other
missing, unexpected or wrongly shaped tensor is a ConfigError listing them
(``strict_loading.loading_problems``).
"""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

from safetensors import SafetensorError
from safetensors.torch import load_file
import torch
from transformers import GemmaConfig, PaliGemmaConfig

from vla_ros.core.errors import ConfigError
from vla_ros.policies.flow.lerobot_loader import gemma_config, mapped_spec, paligemma_config
from vla_ros.policies.flow.strict_loading import loading_problems
from vla_ros.policies.pi05.config import FeatureNormalizer, LEROBOT_MODES, Pi05PolicyConfig
from vla_ros.policies.pi05.network import FlowSettings, Pi05Network

if TYPE_CHECKING:
    from pathlib import Path

    from vla_ros.core.config import PolicyConfig
    from vla_ros.policies.flow.lerobot_pi0 import LeRobotPi0

__all__ = ['build_network', 'load_network_strictly', 'policy_config']

_PREFIX = 'model.'
#: LeRobot (transformers 4) name -> transformers 5 name: SigLIP's tower lost a level.
_RENAMES = (('paligemma_with_expert.paligemma.model.vision_tower.vision_model.',
             'paligemma_with_expert.paligemma.model.vision_tower.'),)
_EMBEDDING = 'paligemma_with_expert.paligemma.model.language_model.embed_tokens.weight'
_VLM_HEAD = 'paligemma_with_expert.paligemma.lm_head.weight'
_EXPERT_HEAD = 'paligemma_with_expert.gemma_expert.lm_head.weight'


def policy_config(described: LeRobotPi0, settings: PolicyConfig | None) -> Pi05PolicyConfig:
    """The vla_ros config of a LeRobot pi0.5 folder under the YAML's ``policy`` mapping.

    Raises:
        ConfigError: as ``mapped_spec``, or statistics the normalisation mode lacks.
    """
    spec = mapped_spec(described, settings)
    assert settings is not None and settings.inputs is not None  # checked by mapped_spec
    modes = {kind: LEROBOT_MODES[described.normalization[kind]] for kind in ('STATE', 'ACTION')}
    return Pi05PolicyConfig(
        spec=spec, state_joint_names=settings.inputs.state,
        state=FeatureNormalizer.from_stats(modes['STATE'], described.state_stats,
                                           'policy_preprocessor observation.state'),
        actions=FeatureNormalizer.from_stats(modes['ACTION'], described.action_stats,
                                             'policy_postprocessor action'),
        max_state_dim=described.max_state_dim,
        tokenizer_max_length=described.tokenizer_max_length,
        num_denoising_steps=described.denoising_steps)


def build_network(described: LeRobotPi0) -> Pi05Network:
    """A randomly initialised network of the folder's sizes (float32, CPU)."""
    raw = described.model_config
    # The expert embeds no tokens: one row instead of the vocabulary, no special tokens.
    expert = GemmaConfig(**{**gemma_config(described.expert), 'vocab_size': 1,
                            'pad_token_id': None, 'bos_token_id': None, 'eos_token_id': None})
    settings = FlowSettings(chunk_size=described.chunk_length,
                            max_action_dim=described.max_action_dim,
                            min_period=float(raw.get('min_period', 4e-3)),
                            max_period=float(raw.get('max_period', 4.0)))
    return Pi05Network(PaliGemmaConfig(**paligemma_config(described)), expert, settings)


def _stored(folder: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(folder / 'model.safetensors'))
    except (OSError, SafetensorError) as err:
        raise ConfigError(f'{folder}/model.safetensors: cannot read the weights ({err})') from err


def _our_name(name: str) -> str:
    name = name[len(_PREFIX):] if name.startswith(_PREFIX) else name
    for old, new in _RENAMES:
        if name.startswith(old):
            return new + name[len(old):]
    return name


def _match(network: Pi05Network, stored: dict[str, torch.Tensor], described: LeRobotPi0
           ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Stored tensors under the network's names, and what does not match (a loading report)."""
    renamed = {_our_name(name): tensor for name, tensor in stored.items()}
    if _EMBEDDING not in renamed and _VLM_HEAD in renamed:
        renamed[_EMBEDDING] = renamed[_VLM_HEAD]
    expected = {name: list(tensor.shape) for name, tensor in network.state_dict().items()}
    expected[_EXPERT_HEAD] = [described.text.vocab_size, described.expert.width]
    mismatched = [(name, list(tensor.shape), expected[name]) for name, tensor in renamed.items()
                  if name in expected and list(tensor.shape) != expected[name]]
    report = {'missing_keys': sorted(set(expected) - set(renamed)),
              'unexpected_keys': sorted(set(renamed) - set(expected)),
              'mismatched_keys': mismatched}
    renamed.pop(_EXPERT_HEAD, None)  # checked, never used: not kept in memory
    return renamed, report


def load_network_strictly(described: LeRobotPi0, *, dtype: torch.dtype) -> Pi05Network:
    """Build the network and load every tensor of the folder into it (on the CPU, ``dtype``).

    Raises:
        ConfigError: unreadable weights, or any missing, unexpected or wrongly shaped tensor.
    """
    stored = _stored(described.folder)
    network = build_network(described)
    renamed, report = _match(network, stored, described)
    problems = loading_problems(report)
    if problems:
        raise ConfigError(f'{described.folder}: the weights do not match the pi0.5 model: '
                          + '; '.join(problems))
    network.load_state_dict(renamed, strict=True)
    return network.to(dtype).eval()
