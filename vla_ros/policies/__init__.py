# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Policies: the ``Policy`` protocol every family implements, and the family registry.

Importing this package loads neither torch nor transformers; ``load_policy`` imports a
family's module (``vla_ros.policies.<family>.model``) only when a policy is loaded.
"""

from __future__ import annotations

from vla_ros.policies.base import Policy, PolicySpec
from vla_ros.policies.registry import FAMILIES, load_policy

__all__ = ['FAMILIES', 'Policy', 'PolicySpec', 'load_policy']
