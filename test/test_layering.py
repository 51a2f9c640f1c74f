# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Imports point one way: only vla_ros.ros uses rclpy; heavy libraries stay in their layer."""

from __future__ import annotations

import json
from pathlib import Path
import re
import subprocess
import sys

import pytest

SOURCE = Path(__file__).resolve().parent.parent / 'vla_ros'

#: subpackage -> modules that importing all of it must not load.
FORBIDDEN = {
    'core': ('rclpy', 'torch', 'transformers', 'mujoco', 'pinocchio'),
    'execution': ('rclpy', 'torch', 'transformers', 'mujoco'),
    'sim': ('rclpy', 'torch', 'transformers'),
    'data': ('rclpy', 'torch', 'transformers', 'mujoco'),
    'policies': ('rclpy', 'mujoco'),
}

_PROBE = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):
    importlib.import_module(info.name)
print(json.dumps(sorted(name for name in sys.argv[2:] if name in sys.modules)))
"""


@pytest.mark.parametrize('subpackage', sorted(FORBIDDEN))
def test_importing_a_layer_loads_nothing_above_it(subpackage):
    done = subprocess.run(
        [sys.executable, '-c', _PROBE, f'vla_ros.{subpackage}', *FORBIDDEN[subpackage]],
        capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_only_the_ros_layer_imports_rclpy_at_module_level():
    pattern = re.compile(r'^(import rclpy|from rclpy)', re.MULTILINE)

    offenders = [str(path.relative_to(SOURCE)) for path in SOURCE.rglob('*.py')
                 if path.relative_to(SOURCE).parts[0] != 'ros'
                 and pattern.search(path.read_text())]

    assert offenders == []
