# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Importing the policy API loads neither torch, transformers nor rclpy (fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_PROBE = """
import json, sys
import vla_ros.core, vla_ros.core.config, vla_ros.core.errors, vla_ros.core.types
import vla_ros.policies, vla_ros.policies.flow, vla_ros.policies.flow.config
from vla_ros.policies import FAMILIES, load_policy, Policy, PolicySpec
from vla_ros.policies.flow import FlowPolicyConfig
heavy = ('torch', 'transformers', 'rclpy')
print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


def test_policy_api_imports_without_torch_transformers_or_rclpy() -> None:
    result = subprocess.run([sys.executable, '-c', _PROBE], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_flow_names_resolve_lazily_to_their_modules() -> None:
    import vla_ros.policies.flow as flow
    from vla_ros.policies.flow.model import FlowPolicy, load

    assert flow.FlowPolicy is FlowPolicy
    assert flow.load is load
    for name in flow.__all__:
        assert getattr(flow, name).__module__.startswith('vla_ros.policies.flow.'), name
    with pytest.raises(AttributeError, match='no_such_name'):
        flow.no_such_name  # noqa: B018
