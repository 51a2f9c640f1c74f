# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Family name -> loader module, imported lazily so torch loads only when a policy does."""

from __future__ import annotations

from collections.abc import Callable
import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from vla_ros.core.config import PolicyConfig
    from vla_ros.policies.base import Policy

__all__ = ['FAMILIES', 'LAYOUT_FAMILIES', 'REMOTE_FAMILIES', 'load_policy']

#: Registered family -> module with ``load(checkpoint_dir: Path, device: str) -> Policy``.
#: Families in ``LAYOUT_FAMILIES`` also take ``settings=`` (the ``policy`` section), for the
#: fields that describe checkpoints in published layouts (dtype, tokenizer, inputs, outputs).
FAMILIES: dict[str, str] = {
    'flow': 'vla_ros.policies.flow.guidance',  # FlowPolicy + infer_guided (RTC)
    'tokens': 'vla_ros.policies.tokens.model',
    'fast': 'vla_ros.policies.fast.model',
    'diffusion': 'vla_ros.policies.diffusion.model',
    'pi05': 'vla_ros.policies.pi05.model',  # LeRobot pi0.5 folders as published
}
LAYOUT_FAMILIES = frozenset({'flow', 'fast', 'pi05'})
#: Remote family -> module with ``load(settings: PolicyConfig) -> Policy``: a client of a policy
#: server named by ``policy.server``; no checkpoint, no torch on the robot.
REMOTE_FAMILIES: dict[str, str] = {
    'openpi': 'vla_ros.policies.remote.openpi',
    'groot': 'vla_ros.policies.remote.groot',
    'openvla': 'vla_ros.policies.remote.openvla',
}


def load_policy(family: str, checkpoint_dir: Path | str | None, *, device: str = 'cpu',
                threads: int | None = None, settings: PolicyConfig | None = None) -> Policy:
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
    if family in REMOTE_FAMILIES:
        return _load_remote(family, checkpoint_dir, settings)
    if family not in FAMILIES:
        raise ConfigError(f'policy.family: {family!r} is not registered; known: '
                          f'{sorted(FAMILIES)} and remote {sorted(REMOTE_FAMILIES)}')
    if checkpoint_dir is None:
        raise ConfigError(f'policy.checkpoint: missing; the {family!r} family loads a '
                          'checkpoint directory')
    unread = () if settings is None or family in LAYOUT_FAMILIES else settings.layout_settings()
    if unread:
        raise ConfigError(f'policy.{unread[0]}: the {family!r} family does not read it (only '
                          f'{sorted(LAYOUT_FAMILIES)} do); remove it')
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


def _load_remote(family: str, checkpoint_dir: Path | str | None,
                 settings: PolicyConfig | None) -> Policy:
    """Connect a remote family's client to ``settings.server``.

    Raises:
        ConfigError: a checkpoint, layout fields or no server section, or no connection.
    """
    if checkpoint_dir is not None:
        raise ConfigError(f'policy.checkpoint: {str(checkpoint_dir)!r}, but {family!r} is a '
                          'remote family: name its server in policy.server instead')
    if settings is None or settings.server is None:
        raise ConfigError(f'policy.server: missing; the remote family {family!r} needs one')
    unread = settings.layout_settings() + (('threads',) if settings.threads else ())
    if unread:
        raise ConfigError(f'policy.{unread[0]}: the remote family {family!r} does not read '
                          'it; remove it')
    module = importlib.import_module(REMOTE_FAMILIES[family])
    policy: Policy = module.load(settings)
    return policy
