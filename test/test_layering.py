# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Imports point one way: the layers of ``vla_ros/__init__.py``; rclpy, messages only in ``ros``.

Two kinds of check. The internal direction is read from the source: every ``import`` of every
module, at module level, inside functions and under ``TYPE_CHECKING`` alike, is parsed, and
an import of a subpackage that the table below does not allow fails with the module and line.
The third-party direction is checked by importing each ROS-free subpackage in a fresh
interpreter and listing the heavy modules that came with it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import subprocess
import sys

import pytest

SOURCE = Path(__file__).resolve().parent.parent / 'vla_ros'

#: subpackage -> the vla_ros subpackages it may import. ``core`` is the bottom (numpy only);
#: ``policies``, ``execution``, ``sim`` and ``data`` are siblings that share only ``core``;
#: ``ros`` wires execution, sim, data and the policy registry to rclpy (the policy node hands
#: ``policies.registry.load_policy`` to ``execution.policy_setup``); ``cli`` may use everything.
ALLOWED = {
    'core': frozenset(),
    'policies': frozenset({'core'}),
    'execution': frozenset({'core'}),
    'sim': frozenset({'core'}),
    'data': frozenset({'core'}),
    'ros': frozenset({'core', 'policies', 'execution', 'sim', 'data'}),
    'cli': frozenset({'core', 'policies', 'execution', 'sim', 'data', 'ros'}),
}
#: (importing module, imported subpackage) arrows outside ``ALLOWED``, each with its reason.
EXCEPTIONS: dict[tuple[str, str], str] = {}
#: policy family -> the other families it builds on; any other family-to-family import fails.
FAMILY_BASES = {
    'diffusion': frozenset(),
    'fast': frozenset({'tokens'}),  # the FAST tokenizer on the token family's VLM
    'flow': frozenset(),
    'pi05': frozenset({'flow'}),  # pi0.5 reads the published pi0 layout with flow's loader
    'remote': frozenset(),
    'tokens': frozenset(),
}
#: Generated interfaces that the colcon build adds to the package.
GENERATED = frozenset({'msg', 'srv', 'action'})
#: The layers that may import rclpy and messages, ours or not (anywhere in a module): ``ros``
#: only. The verbs in ``cli`` call ``ros`` functions that answer with plain value types.
ROS_LAYERS = frozenset({'ros'})
#: Top-level modules that are ROS besides message packages (``*_msgs``, ``*_srvs``,
#: ``*_interfaces``): the client library and its tools.
ROS_MODULES = frozenset({'rclpy', 'rosidl_runtime_py', 'rosbag2_py'})

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


def _ros_imports(text: str, module: str, *, is_package: bool = False) -> list[str]:
    """The imports of rclpy or a message package in ``text`` when ``module`` is outside ros."""
    parts = module.split('.')
    if len(parts) < 2 or parts[1] in ROS_LAYERS:
        return []
    return [f'{module}:{line} {name}' for line, name in _imports(text, module,
                                                                 is_package=is_package)
            if name.split('.')[0] in ROS_MODULES
            or name.split('.')[0].endswith(('_msgs', '_srvs', '_interfaces'))]


def test_only_the_ros_layer_imports_rclpy_or_messages_even_inside_a_function():
    offenders = [offender for text, module, is_package in _sources()
                 for offender in _ros_imports(text, module, is_package=is_package)]

    assert offenders == []


@pytest.mark.parametrize(('module', 'source', 'expected'), [
    ('vla_ros.cli.demo', 'def run():\n    from rclpy.node import Node\n',
     ['vla_ros.cli.demo:2 rclpy.node']),
    ('vla_ros.cli.stop', 'import rclpy\n', ['vla_ros.cli.stop:1 rclpy']),
    ('vla_ros.cli.demo',
     'from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n'
     '    from sensor_msgs.msg import Image\n',
     ['vla_ros.cli.demo:3 sensor_msgs.msg']),
    ('vla_ros.cli.stop', 'def run():\n    from std_srvs.srv import Trigger\n',
     ['vla_ros.cli.stop:2 std_srvs.srv']),
    ('vla_ros.data.cdr', '"""Like rclpy.serialization, without rclpy."""\n', []),
    ('vla_ros.ros.evaluation', 'from rclpy.node import Node\nfrom std_srvs.srv import Trigger\n',
     []),
], ids=['cli-in-function', 'cli-module-level', 'cli-type-checking-message', 'cli-service-type',
        'only-mentioned-in-text', 'ros-may'])
def test_a_ros_import_outside_ros_is_reported_with_module_and_line(module, source, expected):
    assert _ros_imports(source, module) == expected


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imports(text: str, module: str, *, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``text``, wherever it stands."""
    package = module if is_package else module.rpartition('.')[0]
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join([*anchor, base] if base else anchor)
            names = [base] if node.module else [f'{base}.{alias.name}' for alias in node.names]
            found += [(node.lineno, name) for name in names]
    return found


def _wrong_arrows(text: str, module: str, *, is_package: bool = False) -> list[str]:
    """The imports in ``text`` (the source of ``module``) that break the layer tables."""
    parts = module.split('.')
    if len(parts) < 2:
        return []  # vla_ros/__init__.py
    layer = parts[1]
    family = parts[2] if layer == 'policies' and len(parts) > 2 else None
    wrong = []
    for line, name in _imports(text, module, is_package=is_package):
        target = name.split('.')
        if target[0] != 'vla_ros' or len(target) < 2:
            continue
        if target[1] != layer and not (
                target[1] in ALLOWED[layer] or (module, target[1]) in EXCEPTIONS
                or (target[1] in GENERATED and layer in ROS_LAYERS)):
            wrong.append(f'{module}:{line} {layer} -> {name}')
        if (family in FAMILY_BASES and target[1] == 'policies' and len(target) > 2
                and target[2] in FAMILY_BASES and target[2] not in {family,
                                                                    *FAMILY_BASES[family]}):
            wrong.append(f'{module}:{line} family {family} -> {name}')
    return wrong


def _sources() -> list[tuple[str, str, bool]]:
    return [(path.read_text(), _module_name(path), path.name == '__init__.py')
            for path in sorted(SOURCE.rglob('*.py'))]


def test_every_subpackage_and_family_is_in_the_tables():
    layers = {path.name for path in SOURCE.iterdir() if path.is_dir() and any(path.glob('*.py'))}
    families = {path.name for path in (SOURCE / 'policies').iterdir()
                if path.is_dir() and any(path.glob('*.py'))}

    assert (layers, families) == (set(ALLOWED), set(FAMILY_BASES))


def test_subpackages_and_families_import_only_what_they_build_on():
    wrong = [arrow for text, module, is_package in _sources()
             for arrow in _wrong_arrows(text, module, is_package=is_package)]

    assert wrong == []


def test_every_exception_is_still_needed():
    used = {(module, name.split('.')[1]) for text, module, is_package in _sources()
            for _, name in _imports(text, module, is_package=is_package)
            if name.startswith('vla_ros.')}

    assert set(EXCEPTIONS) <= used


@pytest.mark.parametrize(('module', 'source', 'expected'), [
    ('vla_ros.execution.runner', 'from vla_ros.policies.base import Policy\n',
     ['vla_ros.execution.runner:1 execution -> vla_ros.policies.base']),
    ('vla_ros.policies.flow.train', 'def load():\n    from ...sim import scene\n',
     ['vla_ros.policies.flow.train:2 policies -> vla_ros.sim']),
    ('vla_ros.core.types',
     'from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import vla_ros.data.cdr\n',
     ['vla_ros.core.types:3 core -> vla_ros.data.cdr']),
    ('vla_ros.sim', 'from .. import policies\n', ['vla_ros.sim:1 sim -> vla_ros.policies']),
    ('vla_ros.policies.diffusion.model', 'from vla_ros.policies.flow.model import load\n',
     ['vla_ros.policies.diffusion.model:1 family diffusion -> vla_ros.policies.flow.model']),
    ('vla_ros.policies.fast.model', 'from vla_ros.policies.tokens.vlm import build\n', []),
    ('vla_ros.ros.convert', 'from vla_ros.msg import PolicyStatus\n', []),
    ('vla_ros.cli.execute', 'def run():\n    from vla_ros.action import ExecuteInstruction\n',
     ['vla_ros.cli.execute:2 cli -> vla_ros.action']),
    ('vla_ros.cli.train', 'from vla_ros.policies.registry import FAMILIES\n', []),
], ids=['module-level', 'relative-in-function', 'type-checking', 'relative-package',
        'family-to-family', 'family-on-its-base', 'generated-messages', 'cli-no-messages',
        'cli-uses-all'])
def test_a_wrong_import_is_reported_with_module_and_line(module, source, expected):
    is_package = module.count('.') == 1

    assert _wrong_arrows(source, module, is_package=is_package) == expected
