# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Write serialized ROS 2 messages into a new rosbag2 bag (sqlite3 or MCAP storage).

The bytes are stored as they came off the wire (CDR), never deserialized. Each (topic, type)
becomes a rosbag2 connection on its first message, with the type's message definition and
RIHS01 hash and the QoS profiles its publishers offered, so ``ros2 bag play`` can replay it
with the same QoS. Bag version 8 is the default: Humble, Jazzy and Kilted read it.

Any thread may call :meth:`BagWriter.write`; the storage is only touched by the writer's own
thread (SQLite connections belong to the thread that opened them), which drains a queue, so a
slow disk never stalls the caller until the queue is full.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
import logging
from pathlib import Path
import queue
import sqlite3
import threading
from typing import Literal, TYPE_CHECKING

from rosbags.rosbag2 import StoragePlugin, Writer, WriterError
from rosbags.typesys import TypesysError

from vla_ros.core.errors import DataError
from vla_ros.data.message_types import MessageTypes

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from rosbags.interfaces import Connection, Qos

__all__ = ['BagWriter', 'StorageFormat', 'TopicCounts']

_LOGGER = logging.getLogger(__name__)
#: Messages waiting for the disk before write() blocks.
QUEUE_LIMIT = 1000
#: What the rosbags storage writers raise when the disk or the file misbehaves.
_STORAGE_ERRORS = (WriterError, OSError, sqlite3.Error)


class StorageFormat(Enum):
    """rosbag2 storage plugins; the value is the plugin's name (``ros2 bag record -s``)."""

    SQLITE3 = 'sqlite3'
    MCAP = 'mcap'


_PLUGINS = {StorageFormat.SQLITE3: StoragePlugin.SQLITE3, StorageFormat.MCAP: StoragePlugin.MCAP}


@dataclass(frozen=True, slots=True)
class TopicCounts:
    """How many messages of a topic reached the writer, and how many it stored."""

    topic: str
    type_name: str
    received: int
    written: int


@dataclass(frozen=True, slots=True)
class _Connection:
    """What the bag's connection of a (topic, type) is made from."""

    msgdef: str
    rihs01: str
    offered_qos: tuple[Qos, ...]


@dataclass(slots=True)
class _Topic:
    connection: _Connection | None  # None: the type cannot be recorded (see error)
    error: DataError | None = None
    received: int = 0
    written: int = 0


@dataclass(frozen=True, slots=True)
class _Message:
    key: tuple[str, str]
    timestamp_ns: int
    #: None: only declare the topic (add its connection to the bag).
    data: bytes | None


class BagWriter:
    """A new bag, written from any number of threads; closed by :meth:`close` or ``with``.

    Messages that arrive after :meth:`close` are counted as received and not written, which is
    how a recorder's counts show what its shutdown cut off.
    """

    def __init__(self, path: Path | str, *, storage: StorageFormat = StorageFormat.SQLITE3,
                 version: Literal[8, 9] = 8, message_types: MessageTypes | None = None) -> None:
        """Create the bag directory and its storage file now, so a bad path fails at once.

        Args:
            path: the bag directory to create; it must not exist.
            storage: the storage plugin.
            version: rosbag2 metadata version; 8 for Humble readers, 9 is Jazzy's format.
            message_types: where message definitions come from; by default Kilted's standard
                types plus the definition files of the ament prefixes.

        Raises:
            DataError: the path exists or cannot be created.
        """
        self.path = Path(path)
        self.storage = storage
        if self.path.exists():
            raise DataError(f'{self.path}: exists already; a bag is never overwritten, '
                            'choose a new output path')
        self._types = message_types if message_types is not None else MessageTypes()
        self._lock = threading.Lock()
        self._topics: dict[tuple[str, str], _Topic] = {}
        self._closed = False
        self._failure: DataError | None = None  # the storage failed; nothing more is written
        self._queue: queue.Queue[_Message | None] = queue.Queue(QUEUE_LIMIT)
        opened = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(version, opened),
                                        name='bag_writer', daemon=True)
        self._thread.start()
        opened.wait()
        if self._failure is not None:
            self._thread.join()
            raise self._failure

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` ran; later messages are only counted."""
        return self._closed

    def add_topic(self, topic: str, type_name: str, *, offered_qos: Sequence[Qos] = ()) -> None:
        """Declare a (topic, type) and the QoS its publishers offered, before its first message.

        Declaring the same pair again changes nothing; :meth:`write` declares unknown pairs
        itself, with no QoS.

        Raises:
            DataError: the type's definition cannot be found.
        """
        with self._lock:
            entry, new = self._entry(topic, type_name, offered_qos)
        if new:
            self._queue.put(_Message((topic, type_name), 0, None))
        if entry.error is not None:
            raise DataError(str(entry.error)) from entry.error.__cause__

    def write(self, topic: str, type_name: str, timestamp_ns: int, data: bytes) -> None:
        """Queue one serialized (CDR) message, stamped ``timestamp_ns`` (receive time).

        Raises:
            DataError: the type is unknown, or the storage failed earlier; the message is
                counted as received.
        """
        with self._lock:
            entry, _ = self._entry(topic, type_name, ())
            entry.received += 1
            failure = entry.error or self._failure
            accepted = failure is None and not self._closed
        if failure is not None:
            raise DataError(str(failure)) from failure.__cause__
        if accepted:
            self._queue.put(_Message((topic, type_name), timestamp_ns, data))

    def counts(self) -> tuple[TopicCounts, ...]:
        """Received and written messages per (topic, type), in order of first message."""
        with self._lock:
            return tuple(TopicCounts(topic, type_name, entry.received, entry.written)
                         for (topic, type_name), entry in self._topics.items())

    def close(self) -> tuple[TopicCounts, ...]:
        """Write what is queued, finish the storage file and ``metadata.yaml``; idempotent.

        Returns:
            the final counts.

        Raises:
            DataError: the storage failed while writing or finishing.
        """
        with self._lock:
            closing, self._closed = not self._closed, True
        if closing:
            self._queue.put(None)
            self._thread.join()
            if self._failure is not None:
                raise DataError(str(self._failure)) from self._failure.__cause__
        return self.counts()

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _entry(self, topic: str, type_name: str, offered_qos: Sequence[Qos]
               ) -> tuple[_Topic, bool]:
        """The entry of (topic, type), made on first use; whether it is new."""
        key = (topic, type_name)
        entry = self._topics.get(key)
        if entry is not None:
            return entry, False
        if self._closed:
            entry = self._topics[key] = _Topic(None)
            return entry, False
        try:
            msgdef, rihs01 = self._types.definition(type_name)
        except (DataError, TypesysError) as err:
            error = DataError(f'{self.path}: cannot record topic {topic!r} of type '
                              f'{type_name!r}: {err}')
            error.__cause__ = err
            entry = self._topics[key] = _Topic(None, error)
            return entry, False
        entry = self._topics[key] = _Topic(_Connection(msgdef, rihs01, tuple(offered_qos)))
        return entry, True

    def _run(self, version: Literal[8, 9], opened: threading.Event) -> None:
        """The writer thread: open the bag, drain the queue, close the bag."""
        try:
            writer = Writer(self.path, version=version,
                            storage_plugin=_PLUGINS[self.storage])
            writer.open()
        except _STORAGE_ERRORS as err:
            self._fail(f'cannot create the bag: {err}', err)
            return
        finally:
            opened.set()
        connections: dict[tuple[str, str], Connection] = {}
        while (item := self._queue.get()) is not None:  # drained to the end: no writer blocks
            if self._failure is None:
                try:
                    self._store(writer, connections, item)
                except Exception as err:  # a bug; write() and close() raise it, never hidden
                    self._fail(f'the writer thread failed: {err!r}', err)
        try:
            writer.close()
        except _STORAGE_ERRORS as err:
            self._fail(f'cannot finish the bag: {err}', err)
            return
        with self._lock:
            written = sum(entry.written for entry in self._topics.values())
        _LOGGER.info('closed %s: %d messages on %d topics', self.path, written, len(connections))

    def _store(self, writer: Writer, connections: dict[tuple[str, str], Connection],
               item: _Message) -> None:
        topic, type_name = item.key
        try:
            connection = connections.get(item.key)
            if connection is None:
                with self._lock:
                    spec = self._topics[item.key].connection
                assert spec is not None, 'only recordable topics are queued'
                connection = connections[item.key] = writer.add_connection(
                    topic, type_name, msgdef=spec.msgdef, rihs01=spec.rihs01,
                    offered_qos_profiles=list(spec.offered_qos))
            if item.data is None:
                return
            writer.write(connection, item.timestamp_ns, item.data)
        except _STORAGE_ERRORS as err:
            self._fail(f'cannot write topic {topic!r}: {err}', err)
            return
        with self._lock:
            self._topics[item.key].written += 1

    def _fail(self, what: str, cause: Exception) -> None:
        error = DataError(f'{self.path}: {what}')
        error.__cause__ = cause
        with self._lock:
            self._failure = error
        _LOGGER.error('%s', error)
