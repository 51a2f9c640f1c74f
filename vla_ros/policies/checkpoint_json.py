# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``vla_ros_policy.json``, the file every vla_ros checkpoint keeps its config in.

Each family's ``config.py`` says what its file holds (``to_json`` / ``from_json``); this
module holds what they share: the file name and schema version, the header check, strict
mappings (exact keys, a ConfigError naming the path of the first problem), the ``PolicySpec``
as JSON and the one rule checkpoints add to it (a camera), and reading and writing the file
with its path in every error. Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import json
from pathlib import Path
from typing import Any, Self, TypeVar

from vla_ros.core.checked_mapping import parse_fields
from vla_ros.core.errors import ConfigError
from vla_ros.core.policy import PolicySpec
from vla_ros.core.value_checks import is_int  # re-exported: the families' JSON readers use it

__all__ = [
    'CONFIG_FILENAME', 'ConfigFile', 'SCHEMA_VERSION', 'check_header', 'check_spec', 'is_int',
    'load_config_file', 'parse_fields', 'read_config_json', 'save_config_file',
    'spec_from_json', 'spec_to_json',
]

CONFIG_FILENAME = 'vla_ros_policy.json'
SCHEMA_VERSION = 1

_Config = TypeVar('_Config')
_SPEC_KEYS = frozenset({'joint_names', 'camera_names', 'image_height', 'image_width',
                        'chunk_length', 'dt_s'})



def read_config_json(path: Path) -> Any:
    """The parsed content of ``path``; ConfigError when it is missing or not JSON."""
    try:
        return json.loads(path.read_text())
    except OSError as err:
        raise ConfigError(f'cannot read the policy config ({err.strerror}); every checkpoint '
                          'needs one') from err
    except json.JSONDecodeError as err:
        raise ConfigError(f'not valid JSON: {err}') from err


def load_config_file(checkpoint_dir: Path, from_json: Callable[[Any], _Config]) -> _Config:
    """Read ``vla_ros_policy.json`` from ``checkpoint_dir`` and build it with ``from_json``.

    Raises:
        ConfigError: the file is missing, not JSON, or holds an invalid field; the message
            starts with the file's path.
    """
    path = Path(checkpoint_dir) / CONFIG_FILENAME
    try:
        return from_json(read_config_json(path))
    except ConfigError as err:
        raise ConfigError(f'{path}: {err}') from err


def save_config_file(checkpoint_dir: Path, mapping: Mapping[str, Any]) -> Path:
    """Write ``mapping`` as ``vla_ros_policy.json`` into ``checkpoint_dir``; returns its path."""
    path = Path(checkpoint_dir) / CONFIG_FILENAME
    path.write_text(json.dumps(mapping, indent=2) + '\n')
    return path


class ConfigFile:
    """A family config stored as ``vla_ros_policy.json``: ``save`` and ``load`` from its JSON.

    A family's frozen config dataclass derives from it and defines ``to_json`` and
    ``from_json``; writing and reading the file (with its path in every error) are the same
    for every family.
    """

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """Return the plain mapping written to ``vla_ros_policy.json``."""
        raise NotImplementedError

    @classmethod
    def from_json(cls, raw: Any) -> Self:
        """Build and validate a config from the parsed JSON mapping.

        Raises:
            ConfigError: a missing, unknown or invalid field; the message gives its path.
        """
        raise NotImplementedError

    def save(self, checkpoint_dir: Path) -> Path:
        """Write ``vla_ros_policy.json`` into ``checkpoint_dir``; returns the file's path."""
        return save_config_file(checkpoint_dir, self.to_json())

    @classmethod
    def load(cls, checkpoint_dir: Path) -> Self:
        """Read and validate ``vla_ros_policy.json`` from ``checkpoint_dir``.

        Raises:
            ConfigError: the file is missing, not JSON, or holds an invalid field; the
                message starts with the file's path.
        """
        return load_config_file(checkpoint_dir, cls.from_json)


def check_header(fields: Any, family: str, *, family_stored: bool = True) -> None:
    """Raise ConfigError unless ``schema_version`` (and ``family``) are this family's.

    Runs before the other keys are checked, so a checkpoint of another family is named as
    such. ``family_stored=False`` is for the flow family, whose files have no ``family`` key.
    """
    others = frozenset(fields) if isinstance(fields, Mapping) else frozenset()
    header = {'schema_version', 'family'} if family_stored else {'schema_version'}
    fields = parse_fields(fields, '', required=header, optional=others)
    if fields['schema_version'] != SCHEMA_VERSION:
        raise ConfigError(
            f'schema_version: {fields["schema_version"]!r}, expected {SCHEMA_VERSION}')
    if family_stored and fields['family'] != family:
        raise ConfigError(f'family: {fields["family"]!r}, expected {family!r}; load it with '
                          f'policy.family {fields["family"]!r}')


def spec_to_json(spec: PolicySpec) -> dict[str, Any]:
    """Return the JSON mapping of ``spec``."""
    return {'joint_names': list(spec.joint_names), 'camera_names': list(spec.camera_names),
            'image_height': spec.image_height, 'image_width': spec.image_width,
            'chunk_length': spec.chunk_length, 'dt_s': spec.dt_s}


def spec_from_json(raw: Any, where: str = 'spec') -> PolicySpec:
    """Build a checked ``PolicySpec`` from its JSON mapping (``check_spec``'s rule included).

    Raises:
        ConfigError: a missing, unknown or invalid field, named ``<where>.<field>``.
    """
    fields = parse_fields(raw, where, required=_SPEC_KEYS)
    try:
        spec = PolicySpec(**fields)
    except ConfigError as err:
        message = str(err)
        raise ConfigError(where + message.removeprefix('spec') if message.startswith('spec.')
                          else message) from err
    check_spec(spec, where)
    return spec


def check_spec(spec: PolicySpec, where: str = 'spec') -> None:
    """Raise ConfigError unless ``spec`` reads a camera, as every checkpoint family's does.

    The rest of a spec checks itself (``PolicySpec``); a policy without cameras is for
    scripted experts and clients, never a checkpoint.
    """
    if not spec.camera_names:
        raise ConfigError(f'{where}.camera_names: [], expected unique non-empty names, at '
                          'least one')
