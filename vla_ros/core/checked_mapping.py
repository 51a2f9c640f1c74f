# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The one strict-mapping check of stored and configured JSON/YAML sections.

A section is a mapping with exactly the allowed keys: anything else is a ConfigError naming
the path of the first problem (``where``), never a silent default. The statistics
(``core.normalization``), the policy mapping (``core.policy_mapping``) and every checkpoint's
``vla_ros_policy.json`` (``vla_ros.policies.checkpoint_json``) use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vla_ros.core.errors import ConfigError

__all__ = ['parse_fields']


def parse_fields(raw: Any, where: str, *, required: set[str] | frozenset[str],
                 optional: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
    """Check that ``raw`` is a mapping with exactly the allowed keys; return a copy.

    Args:
        raw: the parsed section.
        where: its path in messages (``''``: the top level).
        required: keys that must be present.
        optional: keys that may be present.

    Raises:
        ConfigError: not a mapping, an unknown key, or a missing required key (the first in
            sorted order).
    """
    label = where or 'top level'
    if not isinstance(raw, Mapping):
        raise ConfigError(f'{label}: expected a mapping, got {raw!r}')
    unknown = sorted(set(raw) - required - optional)
    if unknown:
        raise ConfigError(
            f'{label}: unknown keys {unknown!r}; allowed {sorted(required | optional)!r}')
    missing = sorted(required - set(raw))
    if missing:
        raise ConfigError(f'{where + "." if where else ""}{missing[0]}: missing required key')
    return dict(raw)
