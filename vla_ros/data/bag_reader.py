# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Read a rosbag2 bag as serialized messages: (topic, type, timestamp, CDR bytes), in time order.

Accepts a bag directory (sqlite3 or MCAP, metadata version <= 9) or a single ``.db3`` or
``.mcap`` file. Any failure to read it, at open or halfway through (a truncated or corrupt
storage file, a bad ``metadata.yaml``), is one :class:`~vla_ros.core.errors.DataError` that
names the bag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import struct
from typing import TYPE_CHECKING

import apsw
from rosbags.interfaces import ConnectionExtRosbag2
from rosbags.rosbag2 import Reader, ReaderError

from vla_ros.core.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator
    from types import TracebackType

    from rosbags.interfaces import Connection, Qos

__all__ = ['BagInfo', 'BagMessage', 'BagReader', 'TopicInfo']

#: What the rosbags storage readers raise on a file that is not what its name says.
_READ_ERRORS = (ReaderError, OSError, EOFError, ValueError, struct.error, apsw.Error)


@dataclass(frozen=True, slots=True)
class BagMessage:
    """One recorded message, still serialized."""

    topic: str
    type_name: str
    #: Receive (log) time, ns since the epoch: what playback timing follows.
    timestamp_ns: int
    #: CDR bytes with their encapsulation header, as ``publisher.publish(bytes)`` takes them.
    data: bytes


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """One topic of a bag."""

    topic: str
    type_name: str
    message_count: int
    #: The QoS profiles the recorded publishers offered (empty when the recorder kept none).
    offered_qos: tuple[Qos, ...]


@dataclass(frozen=True, slots=True)
class BagInfo:
    """What ``ros2 bag info`` shows: topics, counts and time span."""

    path: Path
    topics: tuple[TopicInfo, ...]
    message_count: int
    #: Timestamp of the first message, ns since the epoch (0 for an empty bag).
    start_ns: int
    #: From the first to the last message, ns.
    duration_ns: int

    @property
    def duration_s(self) -> float:
        """The duration in seconds."""
        return self.duration_ns * 1e-9


class BagReader:
    """An open bag; iterate :meth:`messages`, then :meth:`close` (or use ``with``)."""

    def __init__(self, path: Path | str) -> None:
        """Open the bag and read its index.

        Raises:
            DataError: the path is missing, or not a readable rosbag2 bag.
        """
        self.path = Path(path)
        if not self.path.exists():
            raise DataError(f'{self.path}: no such bag')
        try:
            self._reader = Reader(self.path)
            self._reader.open()
            self.info = self._read_info()
        except _READ_ERRORS as err:
            raise DataError(f'{self.path}: not a readable rosbag2 bag: {err}') from err

    def messages(self, topics: Collection[str] | None = None) -> Iterator[BagMessage]:
        """Yield the messages in timestamp order, of all topics or only of ``topics``.

        Raises:
            DataError: the storage file is corrupt or truncated where the messages are.
        """
        connections = [connection for connection in self._reader.connections
                       if topics is None or connection.topic in topics]
        if not connections:
            return
        try:
            for connection, timestamp_ns, data in self._reader.messages(connections):
                yield BagMessage(connection.topic, connection.msgtype, timestamp_ns,
                                 bytes(data))
        except _READ_ERRORS as err:
            raise DataError(f'{self.path}: corrupt or truncated bag: {err}') from err

    def close(self) -> None:
        """Close the storage files."""
        if self._reader.is_open:
            self._reader.close()

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _read_info(self) -> BagInfo:
        topics: dict[tuple[str, str], list[Connection]] = {}
        for connection in self._reader.connections:
            topics.setdefault((connection.topic, connection.msgtype), []).append(connection)
        count = self._reader.message_count
        return BagInfo(
            path=self.path,
            topics=tuple(TopicInfo(topic, type_name, sum(c.msgcount for c in connections),
                                   tuple(qos for c in connections for qos in _offered_qos(c)))
                         for (topic, type_name), connections in topics.items()),
            message_count=count,
            start_ns=self._reader.start_time if count else 0,
            # rosbags counts the span as end - start + 1 ns (its end time is exclusive).
            duration_ns=max(0, self._reader.duration - 1) if count else 0)


def _offered_qos(connection: Connection) -> list[Qos]:
    if isinstance(connection.ext, ConnectionExtRosbag2):
        return list(connection.ext.offered_qos_profiles)
    return []
