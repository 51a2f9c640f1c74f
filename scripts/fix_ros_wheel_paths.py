#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Point the ROS 2 wheels' CMake exports at this environment instead of the wheel builder's.

The ROS 2 wheels on PyPI were built under /opt/python/cp311-cp311; their CMake config files and
ament index entries still name that prefix (Python headers, numpy headers, parent prefixes), so
`colcon build` of a package that generates interfaces fails until they name ours.

numpy's headers are named through a link outside the source tree (argument 1), because CMake
refuses exported include paths inside the source tree, where .venv lives. Idempotent: a file
rewritten before (even for another numpy version) is rewritten to the same result.
"""

from __future__ import annotations

from pathlib import Path
import re
import sys
import sysconfig

BUILD_PREFIX = '/opt/python/cp311-cp311'
#: numpy's header directory as the wheels name it, or as an earlier run of this script did.
NUMPY_INCLUDE = re.compile(r'[^;"\s]*(/site-packages/numpy/_?core/include|/numpy_include)')


def rewrite_text(text: str, numpy_include: str) -> str:
    """Return ``text`` with the build prefix, Python and numpy header paths made ours."""
    version = f'python{sys.version_info.major}.{sys.version_info.minor}'
    text = NUMPY_INCLUDE.sub(numpy_include, text)
    text = text.replace(f'{BUILD_PREFIX}/include/{version}', sysconfig.get_paths()['include'])
    return text.replace(BUILD_PREFIX, sys.prefix)


def rewrite(prefix: Path, numpy_include: str) -> int:
    """Rewrite every text file under prefix/share that names a foreign path; return count."""
    changed = 0
    for path in (prefix / 'share').rglob('*'):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue
        new_text = rewrite_text(text, numpy_include)
        if new_text != text:
            path.write_text(new_text)
            changed += 1
    return changed


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: fix_ros_wheel_paths.py NUMPY_INCLUDE_LINK')
    count = rewrite(Path(sys.prefix), sys.argv[1])
    print(f'fix_ros_wheel_paths: rewrote {count} files under {sys.prefix}/share')
