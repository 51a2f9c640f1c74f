# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Load PI0 weights so that every tensor of the model comes from the checkpoint, or fail.

transformers' ``from_pretrained`` initialises missing tensors at random, drops unexpected ones
and (asked to) re-initialises tensors of the wrong shape, reporting all of them only in a log.
Here each of those is a ConfigError that lists them, first few names and counts, so a policy
never runs with random layers behind a successful load. Names are transformers' own, after its
renaming of the LeRobot names (``model.paligemma_with_expert.*`` -> ``model.vlm.*``, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TYPE_CHECKING

from safetensors import SafetensorError
import torch
from transformers import PI0ForConditionalGeneration

from vla_ros.core.errors import ConfigError

if TYPE_CHECKING:
    from transformers import PI0Config

__all__ = ['load_pi0_strictly', 'loading_problems']

#: Names listed per kind of problem; the count says how many more there are.
_LISTED = 4


def _listing(kind: str, names: list[str]) -> str:
    shown = ', '.join(names[:_LISTED])
    more = f' and {len(names) - _LISTED} more' if len(names) > _LISTED else ''
    return f'{len(names)} {kind} ({shown}{more})'


def loading_problems(info: dict[str, Any]) -> list[str]:
    """One phrase per kind of problem in a loading report (transformers' ``loading_info``).

    ``info`` holds ``missing_keys`` and ``unexpected_keys`` (names), ``mismatched_keys``
    ((name, stored shape, model shape)) and ``error_msgs``; absent kinds count as none.
    """
    problems = []
    for kind, key in (('missing', 'missing_keys'), ('unexpected', 'unexpected_keys')):
        names = sorted(str(name) for name in info.get(key, ()))
        if names:
            problems.append(_listing(f'{kind} tensors', names))
    mismatched = sorted(
        f'{name}: checkpoint {list(stored)}, model {list(built)}'
        for name, stored, built in info.get('mismatched_keys', ()))
    if mismatched:
        problems.append(_listing('tensors of the wrong shape', mismatched))
    errors = [str(message) for message in info.get('error_msgs', ())]
    if errors:
        problems.append(_listing('load errors', errors))
    return problems


def load_pi0_strictly(folder: Path, *, dtype: torch.dtype,
                      config: PI0Config | None = None) -> PI0ForConditionalGeneration:
    """``PI0ForConditionalGeneration.from_pretrained`` that accepts only an exact match.

    Args:
        folder: the checkpoint folder (read locally, never downloaded).
        dtype: the dtype the weights are loaded in.
        config: the model config; None reads transformers' ``config.json`` from ``folder``.

    Raises:
        ConfigError: unreadable files, or any missing, unexpected or wrongly shaped tensor.
    """
    kwargs: dict[str, Any] = {} if config is None else {'config': config}
    try:
        # With output_loading_info, from_pretrained returns (model, info); its stub says model.
        loaded: Any = PI0ForConditionalGeneration.from_pretrained(
            folder, local_files_only=True, dtype=dtype, output_loading_info=True,
            ignore_mismatched_sizes=True, **kwargs)
    except (OSError, ValueError, KeyError, SafetensorError) as err:
        raise ConfigError(f'{folder}: cannot load the PI0 model: {err}') from err
    model: PI0ForConditionalGeneration = loaded[0]
    info: dict[str, Any] = loaded[1]
    problems = loading_problems(info)
    if problems:
        raise ConfigError(f'{folder}: the weights do not match the model: '
                          + '; '.join(problems))
    model.eval()  # type: ignore[no-untyped-call]
    return model
