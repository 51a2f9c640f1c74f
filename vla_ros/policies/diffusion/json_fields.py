# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Flat frozen dataclasses <-> JSON mappings, each field converted by its type annotation.

The diffusion checkpoint config is made of flat dataclasses (numbers, enums, tuples of
numbers or names); these helpers write them as plain JSON values and read them back with
exact key sets (``checkpoint_json.parse_fields``), so an unknown or missing key is a
ConfigError naming its path. Range checks stay in each dataclass's ``__post_init__``.
Standard library only.
"""

from __future__ import annotations

from dataclasses import fields
import enum
import typing
from typing import Any

from vla_ros.core.errors import ConfigError
from vla_ros.policies.checkpoint_json import is_int, parse_fields

__all__ = ['flat_from_json', 'flat_to_json', 'parse_enum', 'plain_value']


def plain_value(value: Any) -> Any:
    """``value`` as JSON holds it: an enum's value, a tuple as a list, anything else as is."""
    return value.value if isinstance(value, enum.Enum) else (
        list(value) if isinstance(value, tuple) else value)


def parse_enum(kind: type[enum.Enum], raw: Any, where: str) -> Any:
    """The member of ``kind`` whose value is ``raw``; ConfigError lists the values allowed."""
    try:
        return kind(raw)
    except ValueError as err:
        raise ConfigError(f'{where}: {raw!r}, expected one of '
                          f'{[member.value for member in kind]}') from err


def flat_to_json(value: Any) -> dict[str, Any]:
    """Field name -> ``plain_value`` of each field of the dataclass instance ``value``."""
    return {field.name: plain_value(getattr(value, field.name)) for field in fields(value)}


_T = typing.TypeVar('_T')


def flat_from_json(cls: type[_T], raw: Any, where: str) -> _T:
    """Build the flat dataclass ``cls`` from JSON, converting each field by its annotation.

    Supported annotations: int, float, str, enums, ``float | None`` and ``tuple[X, ...]`` of
    int or str. Range checks are the dataclass's own ``__post_init__``.
    """
    hints = typing.get_type_hints(cls)
    names = tuple(field.name for field in fields(cls))  # type: ignore[arg-type]
    values = parse_fields(raw, where, required=set(names))
    converted = {name: _convert(hints[name], value, f'{where}.{name}')
                 for name, value in values.items()}
    try:
        return cls(**converted)
    except (TypeError, ValueError) as err:
        raise ConfigError(f'{where}: {err}') from err


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return parse_enum(hint, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f'{where}: {value!r}, expected a list')
        return tuple(_convert(args[0], item, f'{where}[{index}]')
                     for index, item in enumerate(value))
    if args and type(None) in args:  # an optional number
        return None if value is None else _convert(float, value, where)
    if hint is float and (is_int(value) or isinstance(value, float)):
        return float(value)
    if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    raise ConfigError(f'{where}: {value!r}, expected {getattr(hint, "__name__", hint)}')
