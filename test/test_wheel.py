# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The pip wheel of the ROS-free part (setup.cfg) has every ROS-free subpackage; it runs sans ROS.

The wheel is built from a copy of the sources (setuptools' build/ would collide with colcon's),
installed with pip into an empty folder, and imported by a fresh interpreter whose path holds
that folder and this environment's third-party site-packages only: not the colcon install, and
with every ROS Python package (rclpy, rosidl, the message packages) made unimportable, as on a
GPU box that has no ROS. Every module of the wheel is imported, not only the packages.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

ROS_FREE = ('core', 'data', 'execution', 'policies', 'sim')
ROS_ONLY = ('ros', 'cli')

# Run by the fresh interpreter: refuse ROS packages, then import every module of the wheel.
IMPORT_ALL = r"""
import importlib, importlib.abc, pkgutil, sys

ROS = ('rclpy', 'rosidl_', 'rcl_interfaces', 'builtin_interfaces', 'ament_index_python',
       'launch', 'rosgraph_msgs', 'unique_identifier_msgs')


class NoRos(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split('.')[0]
        if (top.startswith(ROS) or top.endswith(('_msgs', '_srvs', '_interfaces'))
                or name.startswith(('vla_ros.msg', 'vla_ros.srv', 'vla_ros.action'))):
            raise ModuleNotFoundError(f'no ROS here: {name}')
        return None


sys.meta_path.insert(0, NoRos())
import vla_ros
assert vla_ros.__file__.startswith(sys.argv[1]), vla_ros.__file__
names = []
for sub in sys.argv[2].split(','):
    package = importlib.import_module(f'vla_ros.{sub}')
    names.append(package.__name__)
    for info in pkgutil.walk_packages(package.__path__, prefix=f'vla_ros.{sub}.'):
        importlib.import_module(info.name)
        names.append(info.name)
print('imported', len(names), 'modules')
"""


@pytest.fixture(scope='module')
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp('wheel')
    source = work / 'src'
    source.mkdir()
    for name in ('setup.py', 'setup.cfg'):
        shutil.copy(repo_root / name, source / name)
    shutil.copytree(repo_root / 'vla_ros', source / 'vla_ros',
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--quiet', '--no-deps',
                    '--no-build-isolation', '--wheel-dir', str(work / 'dist'), str(source)],
                   check=True, cwd=work, timeout=300)
    (built,) = (work / 'dist').glob('vla_ros-*.whl')
    return built


def subpackages_in(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {Path(name).parent.as_posix() for name in archive.namelist()
                if name.endswith('/__init__.py')}


def test_the_wheel_has_every_ros_free_subpackage_and_no_ros_layer(repo_root: Path,
                                                                  wheel: Path) -> None:
    packages = subpackages_in(wheel)
    on_disk = {path.parent.relative_to(repo_root).as_posix()
               for path in (repo_root / 'vla_ros').rglob('__init__.py')}
    ros_free = {name for name in on_disk
                if name.split('/')[1:2] == [] or name.split('/')[1] in ROS_FREE}
    assert ros_free <= packages, f'missing from the wheel: {sorted(ros_free - packages)}'
    assert not {name for name in packages if name.split('/')[1:2] and
                name.split('/')[1] in ROS_ONLY}, sorted(packages)


def test_every_ros_free_module_imports_from_the_wheel_without_ros(wheel: Path,
                                                                 tmp_path: Path) -> None:
    site = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps',
                    '--no-index', '--target', str(site), str(wheel)], check=True, timeout=300)
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('AMENT', 'COLCON', 'ROS_', 'RMW_', 'PYTHON'))}
    env['PYTHONPATH'] = os.pathsep.join([str(site), sysconfig.get_paths()['purelib']])
    env['PYTHONNOUSERSITE'] = '1'
    done = subprocess.run([sys.executable, '-I', '-c', 'import sys; sys.path[:0] = '
                           f'{env["PYTHONPATH"].split(os.pathsep)!r}\n' + IMPORT_ALL,
                           str(site), ','.join(ROS_FREE)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    count = int(done.stdout.split('imported ')[1].split()[0])
    modules = sum(1 for sub in ROS_FREE
                  for _ in (site / 'vla_ros' / sub).rglob('*.py'))
    assert count == modules, (count, modules)


def test_every_subpackage_is_an_api_with_a_docstring_and_all(repo_root: Path) -> None:
    for init in sorted((repo_root / 'vla_ros').rglob('__init__.py')):
        module = ast.parse(init.read_text())
        where = init.relative_to(repo_root)
        assert ast.get_docstring(module), f'{where} has no docstring'
        exported = [node for node in module.body
                    if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == '__all__' for t in node.targets)
                    or isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and node.target.id == '__all__']
        if where.parent == Path('vla_ros'):
            continue  # the top package only documents the layers
        assert exported, f'{where} has no __all__'
        names = ast.literal_eval(exported[0].value)  # type: ignore[arg-type]
        defined = {alias.asname or alias.name for node in ast.walk(module)  # lazy ones too
                   if isinstance(node, ast.ImportFrom) and node.module != '__future__'
                   for alias in node.names}
        submodules = {path.stem for path in init.parent.glob('*.py')} | {
            path.parent.name for path in init.parent.glob('*/__init__.py')}
        unknown = [name for name in names if name not in defined | submodules]
        assert not unknown, f'{where}: __all__ names {unknown}, neither imported nor a module'
        if not defined:  # a package of modules imported on use lists all of them
            assert set(names) == submodules - {'__init__'}, (
                f'{where}: __all__ and the modules on disk differ: '
                f'{sorted(set(names) ^ (submodules - {"__init__"}))}')
