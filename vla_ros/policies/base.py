# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The ``Policy`` protocol every family implements, as the policies package names it.

The protocol and its ``PolicySpec`` are defined in ``vla_ros.core.policy`` (numpy only), so
that ``execution`` and ``data`` use the contract without importing ``policies``; this module
is their name inside the policies package.
"""

from __future__ import annotations

from vla_ros.core.policy import Policy, PolicySpec

__all__ = ['Policy', 'PolicySpec']
