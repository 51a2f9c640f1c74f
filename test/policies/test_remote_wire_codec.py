# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The msgpack-numpy codec: round trips, openpi's exact map layout, and what it refuses.

The layout asserted here (binary keys ``__ndarray__``, ``data``, ``dtype`` as ``dtype.str``,
``shape``; ``__npgeneric__`` for scalars) is openpi-client's ``msgpack_numpy.py`` as described
in docs (shared/research/protocols.md, section 1a); the maps are built by hand with plain
msgpack, so the test does not read our encoder back with itself only.
"""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from vla_ros.core.errors import InputError
from vla_ros.policies.remote.wire_codec import pack, unpack


@pytest.mark.parametrize('array', [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.linspace(-1, 1, 7),
    np.zeros((2, 3, 4), dtype=np.uint8) + 7,
    np.array([True, False]),
    np.arange(6, dtype='>i4').reshape(2, 3),
    np.zeros((0, 3)),
], ids=['float32', 'float64', 'uint8_image', 'bool', 'big_endian', 'empty'])
def test_arrays_round_trip_exactly(array: np.ndarray) -> None:
    decoded = unpack(pack({'value': array, 'nested': {'list': [array]}}))

    for value in (decoded['value'], decoded['nested']['list'][0]):
        assert value.dtype == array.dtype and value.shape == array.shape
        np.testing.assert_array_equal(value, array)
        value[...] = value  # writable: a copy, not a view of the message


def test_encoding_is_openpis_map_layout() -> None:
    array = np.arange(6, dtype=np.float32).reshape(2, 3)

    raw = msgpack.unpackb(pack({'a': array, 's': np.int64(3)}), raw=False)

    assert raw['a'] == {b'__ndarray__': True, b'data': array.tobytes(), b'dtype': '<f4',
                        b'shape': [2, 3]}
    assert raw['s'] == {b'__npgeneric__': True, b'data': 3, b'dtype': '<i8'}


def test_decodes_a_hand_built_openpi_message() -> None:
    image = np.full((4, 5, 3), 200, dtype=np.uint8)
    message = msgpack.packb({'prompt': 'pick', 'observation/image': {
        b'__ndarray__': True, b'data': image.tobytes(), b'dtype': '|u1', b'shape': (4, 5, 3)}},
        use_bin_type=True)

    decoded = unpack(message)

    assert decoded['prompt'] == 'pick'
    np.testing.assert_array_equal(decoded['observation/image'], image)


@pytest.mark.parametrize(('array_map', 'match'), [
    ({b'__ndarray__': True, b'data': b'x' * 8, b'dtype': '|O', b'shape': [1]}, 'refused'),
    ({b'__ndarray__': True, b'data': b'x' * 16, b'dtype': '<c16', b'shape': [1]}, 'refused'),
    ({b'__ndarray__': True, b'data': b'x' * 4, b'dtype': '|V4', b'shape': [1]}, 'refused'),
    ({b'__ndarray__': True, b'data': b'x' * 7, b'dtype': '<f8', b'shape': [1]},
     '7 bytes for shape'),
    ({b'__ndarray__': True, b'data': b'', b'dtype': 'no such', b'shape': [0]}, 'not a numpy'),
    ({b'__ndarray__': True, b'data': 'text', b'dtype': '<f8', b'shape': [1]},
     'expected a list of sizes and bytes'),
    ({b'__ndarray__': True, b'data': b'', b'dtype': '<f8', b'shape': [-1]},
     'expected a list of sizes'),
], ids=['object', 'complex', 'void', 'short_data', 'bad_dtype', 'str_data', 'negative_shape'])
def test_refuses_malformed_or_unsafe_arrays(array_map: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        unpack(msgpack.packb({'a': array_map}, use_bin_type=True))


def test_refuses_bytes_that_are_not_msgpack() -> None:
    with pytest.raises(InputError, match='cannot decode'):
        unpack(b'\xc1\xc1\xc1')


def test_will_not_encode_object_arrays() -> None:
    with pytest.raises(InputError, match='refused'):
        pack({'a': np.array([object()])})
