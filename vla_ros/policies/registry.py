# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Family -> loader module, imported lazily so torch loads only when a policy does."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.core.errors import ConfigError
from vla_ros.core.policy_family import PolicyFamily

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.policies.base import Policy

__all__ = ['FAMILIES', 'LAYOUT_FAMILIES', 'LAYOUT_FIELDS', 'PolicyFamily', 'REMOTE_FAMILIES',
           'load_policy']

#: Local family -> module with ``load(checkpoint_dir: Path, device: str) -> Policy``.
#: Families in ``LAYOUT_FAMILIES`` also take ``settings=`` (the ``policy`` section), for the
#: fields that describe checkpoints in published layouts (``LAYOUT_FIELDS``).
FAMILIES: Mapping[PolicyFamily, str] = {
    PolicyFamily.FLOW: 'vla_ros.policies.flow.guidance',  # FlowPolicy + infer_guided (RTC)
    PolicyFamily.TOKENS: 'vla_ros.policies.tokens.model',
    PolicyFamily.FAST: 'vla_ros.policies.fast.model',
    PolicyFamily.DIFFUSION: 'vla_ros.policies.diffusion.model',
    PolicyFamily.PI05: 'vla_ros.policies.pi05.model',  # LeRobot pi0.5 folders as published
}
_MAPPING_FIELDS = frozenset({'dtype', 'tokenizer', 'inputs', 'outputs'})
#: Family -> the fields of ``PolicyConfig.layout_settings`` it reads; any other set one is
#: refused by name, never ignored.
LAYOUT_FIELDS: Mapping[PolicyFamily, frozenset[str]] = {
    PolicyFamily.FLOW: _MAPPING_FIELDS | {'noise_scale'},  # how far from the centre it samples
    PolicyFamily.FAST: _MAPPING_FIELDS | {'decoding'},  # a LeRobot pi0-FAST folder's decoding
    PolicyFamily.PI05: _MAPPING_FIELDS,
}
LAYOUT_FAMILIES = frozenset(LAYOUT_FIELDS)
#: Remote family -> module with ``load(settings: PolicyConfig) -> Policy``: a client of a policy
#: server named by ``policy.server``; no checkpoint, no torch on the robot.
REMOTE_FAMILIES: Mapping[PolicyFamily, str] = {
    PolicyFamily.OPENPI: 'vla_ros.policies.remote.openpi',
    PolicyFamily.GROOT: 'vla_ros.policies.remote.groot',
    PolicyFamily.OPENVLA: 'vla_ros.policies.remote.openvla',
}
assert set(FAMILIES) | set(REMOTE_FAMILIES) == set(PolicyFamily)
assert {family for family in PolicyFamily if family.is_remote} == set(REMOTE_FAMILIES)


def load_policy(family: PolicyFamily | str, checkpoint_dir: Path | str | None, *,
                device: str = 'cpu', threads: int | None = None,
                settings: PolicyConfig | None = None) -> Policy:
    """Load the checkpoint in ``checkpoint_dir`` with the loader of ``family``.

    ``threads``, when given, sets torch's CPU thread count for the whole process (every
    registered family runs on torch); None leaves it as it is. ``settings`` is the config's
    ``policy`` section; its layout fields (dtype, tokenizer, inputs, outputs) reach the
    families of ``LAYOUT_FAMILIES`` and are refused for the others, never ignored.

    Raises:
        ConfigError: unknown family, a thread count below 1, a layout field for a family that
            does not read it, or a checkpoint the family's loader refuses.
    """
    if threads is not None and threads < 1:
        raise ConfigError(f'policy.threads: {threads}, expected >= 1')
    family = PolicyFamily.parse(family)
    if family.is_remote:
        return _load_remote(family, checkpoint_dir, settings)
    if checkpoint_dir is None:
        raise ConfigError(f'policy.checkpoint: missing; the {family.value!r} family loads '
                          'a checkpoint directory')
    reads = LAYOUT_FIELDS.get(family, frozenset())
    unread = () if settings is None else tuple(
        name for name in settings.layout_settings() if name not in reads)
    if unread:
        readers = sorted(other.value for other, fields in LAYOUT_FIELDS.items()
                         if unread[0] in fields)
        raise ConfigError(f'policy.{unread[0]}: the {family.value!r} family does not read it '
                          f'(only {readers} do); remove it')
    checkpoint_dir = Path(checkpoint_dir)
    if not checkpoint_dir.is_dir():
        raise ConfigError(f'policy.checkpoint: {str(checkpoint_dir)!r} is not a directory')
    module = importlib.import_module(FAMILIES[family])
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    if family in LAYOUT_FAMILIES:
        return module.load(checkpoint_dir, device, settings=settings)  # type: ignore[no-any-return]
    loader: Callable[[Path, str], Policy] = module.load
    return loader(checkpoint_dir, device)


def _load_remote(family: PolicyFamily, checkpoint_dir: Path | str | None,
                 settings: PolicyConfig | None) -> Policy:
    """Connect a remote family's client to ``settings.server``.

    Raises:
        ConfigError: a checkpoint, layout fields or no server section, or no connection.
    """
    if checkpoint_dir is not None:
        raise ConfigError(f'policy.checkpoint: {str(checkpoint_dir)!r}, but {family.value!r} '
                          'is a remote family: name its server in policy.server instead')
    if settings is None or settings.server is None:
        raise ConfigError(f'policy.server: missing; the remote family {family.value!r} needs '
                          'one')
    unread = settings.layout_settings() + (('threads',) if settings.threads else ())
    if unread:
        raise ConfigError(f'policy.{unread[0]}: the remote family {family.value!r} does not '
                          'read it; remove it')
    module = importlib.import_module(REMOTE_FAMILIES[family])
    policy: Policy = module.load(settings)
    return policy
