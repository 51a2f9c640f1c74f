# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Type checks for values read from YAML and JSON, where ``true`` must not pass for a number.

Python's ``bool`` is an ``int``, so ``isinstance(value, int)`` accepts ``True`` as 1; a config
that says ``horizon: true`` is a mistake, not a horizon of one. NaN and infinities are not
numbers here either.
"""

from __future__ import annotations

import math

__all__ = ['is_int', 'is_number', 'is_positive']


def is_int(value: object) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A finite int or float that is not a bool."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def is_positive(value: object) -> bool:
    """A finite number > 0 (not a bool)."""
    return is_number(value) and value > 0.0  # type: ignore[operator]
