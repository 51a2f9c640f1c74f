# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Decode recorded CDR bytes into rosbags message objects, tolerating trailing bytes.

rosbags' ``Typestore.deserialize_cdr`` refuses a message followed by more than 3 bytes after
its last field. Fast DDS's serializer (what ``rclpy.serialization`` and a recorder on
``rmw_fastrtps_cpp`` store) can leave up to 8 unused bytes there, so the recorded bytes of a
valid ``sensor_msgs/msg/JointState`` would be refused; this decoder reads the fields and
ignores what follows them, as the ROS middleware itself does.
"""

from __future__ import annotations

import struct
from typing import Any, TYPE_CHECKING

from rosbags.serde import SerdeError
from rosbags.typesys import TypesysError

from vla_ros.core.errors import DataError

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore

__all__ = ['deserialize']

#: The CDR encapsulation headers rosbags reads: big- and little-endian plain CDR.
_ENCAPSULATIONS = (b'\x00\x00', b'\x00\x01')


def deserialize(typestore: Typestore, data: bytes, type_name: str, *, where: str) -> Any:
    """The message ``type_name`` that ``data`` (CDR with its 4-byte header) holds.

    Raises:
        DataError: an unknown type, another encapsulation, or bytes that end too early;
            the message names ``where`` the bytes came from.
    """
    if len(data) < 4 or data[:2] not in _ENCAPSULATIONS:
        raise DataError(f'{where}: {type_name} bytes {data[:4]!r}... are not plain CDR')
    try:
        msgdef = typestore.get_msgdef(type_name)
        decode = msgdef.deserialize_cdr_le if data[1] else msgdef.deserialize_cdr_be
        message, _end = decode(memoryview(data)[4:], 0, msgdef.cls, typestore)
    except (SerdeError, TypesysError, struct.error, UnicodeDecodeError, ValueError, KeyError,
            IndexError) as err:
        raise DataError(f'{where}: cannot decode a {type_name} message: {err!r}') from err
    return message
