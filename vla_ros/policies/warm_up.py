# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``warm_up`` under its old name in ``policies``; it lives in ``vla_ros.core.warm_up``."""

from __future__ import annotations

from vla_ros.core.warm_up import warm_up

__all__ = ['warm_up']
