# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""msgpack with numpy arrays: the openpi wire encoding, written from its description.

An array travels as the map ``{b'__ndarray__': True, b'data': raw bytes, b'dtype': dtype.str,
b'shape': shape}`` and a numpy scalar as ``{b'__npgeneric__': True, b'data': value,
b'dtype': dtype.str}`` (binary keys, as openpi-client writes them, so its stock client and
server read ours). Only boolean, integer and floating-point dtypes travel: object, void,
complex and string dtypes are refused both ways, so decoding never runs code or unpickles.
A decoded array is a writable copy whose byte count was checked against its shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack  # type: ignore[import-untyped]
import numpy as np

from vla_ros.core.errors import InputError

__all__ = ['checked_dtype', 'pack', 'unpack', 'unpack_with']

#: dtype kinds that may travel: bool, signed and unsigned integers, floating point.
_KINDS = frozenset('biuf')


def checked_dtype(text: object) -> np.dtype[Any]:
    """The dtype named ``text`` if it may travel (bool, int, uint, float); else InputError."""
    if not isinstance(text, str):
        raise InputError(f'msgpack-numpy: dtype {text!r}, expected a dtype string such as "<f4"')
    try:
        dtype = np.dtype(text)
    except TypeError as err:
        raise InputError(f'msgpack-numpy: dtype {text!r} is not a numpy dtype') from err
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise InputError(f'msgpack-numpy: dtype {text!r} refused; only bool, int, uint and '
                         'float arrays travel')
    return dtype


def _encode(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        checked_dtype(value.dtype.str)
        return {b'__ndarray__': True, b'data': np.ascontiguousarray(value).tobytes(),
                b'dtype': value.dtype.str, b'shape': list(value.shape)}
    if isinstance(value, np.generic):
        checked_dtype(value.dtype.str)
        return {b'__npgeneric__': True, b'data': value.item(), b'dtype': value.dtype.str}
    raise TypeError(f'msgpack-numpy: cannot encode {type(value).__name__}')


def _decode(value: dict[Any, Any]) -> Any:
    if b'__ndarray__' in value:
        dtype = checked_dtype(value.get(b'dtype'))
        shape, data = value.get(b'shape'), value.get(b'data')
        if not (isinstance(shape, (list, tuple)) and all(
                isinstance(n, int) and n >= 0 for n in shape) and isinstance(data, bytes)):
            raise InputError(f'msgpack-numpy: array with shape {shape!r} and '
                             f'{type(data).__name__} data, expected a list of sizes and bytes')
        count = int(np.prod(shape, dtype=np.int64))
        if count * dtype.itemsize != len(data):
            raise InputError(f'msgpack-numpy: {len(data)} bytes for shape {list(shape)!r} of '
                             f'{dtype.str}, expected {count * dtype.itemsize}')
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if b'__npgeneric__' in value:
        return checked_dtype(value.get(b'dtype')).type(value.get(b'data'))
    return value


def pack(payload: Any) -> bytes:
    """Encode ``payload`` (maps, lists, str, numbers, numpy arrays and scalars) to bytes.

    Raises:
        InputError: an array of a dtype that may not travel.
        TypeError: a value msgpack cannot encode.
    """
    packed: bytes = msgpack.packb(payload, default=_encode, use_bin_type=True)
    return packed


def unpack(data: bytes) -> Any:
    """Decode bytes written by ``pack`` (or by openpi-client).

    Raises:
        InputError: not msgpack, or an array map that is malformed or of a refused dtype.
    """
    return unpack_with(data, object_hook=_decode, protocol='msgpack-numpy')


def unpack_with(data: bytes, *, object_hook: Callable[[dict[Any, Any]], Any],
                protocol: str) -> Any:
    """Decode msgpack ``data`` with ``object_hook`` turning maps into arrays (a wire's codec).

    Raises:
        InputError: not msgpack, or what ``object_hook`` refuses; the message names
            ``protocol``.
    """
    try:
        return msgpack.unpackb(data, object_hook=object_hook, raw=False, strict_map_key=False)
    except InputError:
        raise
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError,
            msgpack.StackError) as err:
        raise InputError(f'{protocol}: cannot decode {len(data)} bytes: {err}') from err
