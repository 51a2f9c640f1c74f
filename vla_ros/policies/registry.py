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

__all__ = ['FAMILIES', 'LAYOUT_FAMILIES', 'load_policy']

#: Registered family -> module with ``load(checkpoint_dir: Path, device: str) -> Policy``.
#: Families in ``LAYOUT_FAMILIES`` also take ``settings=`` (the ``policy`` section), for the
#: fields that describe checkpoints in published layouts (dtype, tokenizer, inputs, outputs).
FAMILIES: dict[str, str] = {
    'flow': 'vla_ros.policies.flow.guidance',  # FlowPolicy + infer_guided (RTC)
    'tokens': 'vla_ros.policies.tokens.model',
    'fast': 'vla_ros.policies.fast.model',
    'diffusion': 'vla_ros.policies.diffusion.model',
}
LAYOUT_FAMILIES = frozenset({'flow'})


def load_policy(family: str, checkpoint_dir: Path | str, *, device: str = 'cpu',
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
    if family not in FAMILIES:
        raise ConfigError(
            f'policy.family: {family!r} is not registered; known: {sorted(FAMILIES)}')
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
