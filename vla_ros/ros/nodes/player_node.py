# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The player: a rosbag2 bag -> its topics again, with the recorded timing.

Messages are published as the serialized bytes the bag holds (``publisher.publish(bytes)``),
never deserialized, at their recorded receive times scaled by ``rate``, on a worker thread.
Each topic is offered with the QoS its recorded publishers offered (see ``ros/bag_topics.py``).

Parameters (read-only): ``bag`` (directory or .db3/.mcap file), ``rate`` (playback speed
factor), ``loop``, ``remap`` (``FROM:=TO`` entries; FROM is a topic of the bag), ``clock_rate_hz``
(publish ``/clock`` from the bag's timestamps this often; 0: no clock),
``wait_for_subscribers_s`` (before playing, wait up to this long for every topic to have a
subscriber; 0: start at once). The message types must be built and sourced, as for
``ros2 bag play``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from builtin_interfaces.msg import Time
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rosgraph_msgs.msg import Clock

from vla_ros.core.errors import ConfigError, DataError
from vla_ros.data.bag_reader import BagReader
from vla_ros.ros.bag_topics import message_class, playback_qos
from vla_ros.ros.qos import SENSOR_QOS

__all__ = ['PlayerNode', 'main', 'parse_remaps']

#: Poll period while waiting for subscribers.
_SUBSCRIBER_POLL_S = 0.05


def parse_remaps(entries: list[str]) -> dict[str, str]:
    """``FROM:=TO`` entries as {bag topic: published topic}; FROM gains a leading ``/``.

    Raises:
        ConfigError: an entry without ``:=`` or with an empty side.
    """
    remaps = {}
    for entry in entries:
        source, separator, target = entry.partition(':=')
        if not separator or not source or not target:
            raise ConfigError(f'remap {entry!r}: expected FROM:=TO')
        remaps[source if source.startswith('/') else f'/{source}'] = target
    return remaps


class PlayerNode(Node):
    """Publishes a bag's messages with their recorded timing, once or in a loop."""

    def __init__(self, node_name: str = 'vla_player', **kwargs: Any) -> None:
        super().__init__(node_name, **kwargs)
        # destroy_node runs even when __init__ fails half-way.
        self._reader: BagReader | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        bag = str(self._declare('bag', '', 'bag directory, or a .db3 or .mcap file'))
        self._rate = float(self._declare('rate', 1.0, 'playback speed factor', FloatingPointRange(
            from_value=0.01, to_value=100.0)))
        self._loop = bool(self._declare('loop', False, 'start again at the end, until stopped'))
        remaps = parse_remaps(list(self._declare(
            'remap', Parameter.Type.STRING_ARRAY, 'FROM:=TO: publish bag topic FROM as TO') or []))
        clock_rate_hz = float(self._declare('clock_rate_hz', 0.0, 'publish /clock this often; 0: '
                                            'no clock', FloatingPointRange(from_value=0.0,
                                                                           to_value=1000.0)))
        self._wait_for_subscribers_s = float(self._declare(
            'wait_for_subscribers_s', 0.0, 'wait up to this long for subscribers before playing'))
        if not bag:
            raise ConfigError('parameter bag is not set; pass -p bag:=PATH')
        self._reader = reader = BagReader(bag)
        self._topic_pubs: dict[str, Publisher[Any]] = {
            topic.topic: self.create_publisher(message_class(topic.type_name),
                                               remaps.get(topic.topic, topic.topic),
                                               playback_qos(topic.offered_qos))
            for topic in reader.info.topics}
        self._clock_period_s = 1.0 / clock_rate_hz if clock_rate_hz > 0 else None
        self._clock_pub = (self.create_publisher(Clock, '/clock', SENSOR_QOS)
                           if self._clock_period_s else None)
        self._next_clock_s = 0.0
        self._counts_lock = threading.Lock()
        self._published = dict.fromkeys(self._topic_pubs, 0)
        self._error: DataError | None = None
        self._thread = threading.Thread(target=self._play, args=(reader,), name='bag_player',
                                        daemon=True)
        self._thread.start()
        info = reader.info
        self.get_logger().info(f'playing {info.path}: {info.message_count} messages on '
                               f'{len(info.topics)} topics, {info.duration_s:.2f} s, '
                               f'rate {self._rate}')

    @property
    def error(self) -> DataError | None:
        """Why playback stopped early (a corrupt bag), or None."""
        return self._error

    def published(self) -> dict[str, int]:
        """Messages published so far, per bag topic."""
        with self._counts_lock:
            return dict(self._published)

    def wait_until_done(self, timeout_s: float | None = None) -> bool:
        """Block until the bag has played (never, with ``loop``, unless stopped)."""
        return self._done.wait(timeout_s)

    def stop(self) -> None:
        """End playback now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def destroy_node(self) -> None:
        """Stop the player thread and close the bag before the node goes away."""
        self.stop()
        if self._reader is not None:
            self._reader.close()
        super().destroy_node()

    def _play(self, reader: BagReader) -> None:
        try:
            self._wait_for_subscribers()
            while not self._stop.is_set():
                self._play_once(reader)
                if not self._loop or reader.info.message_count == 0:
                    break
        except DataError as err:
            self._error = err
            self.get_logger().error(str(err))
        finally:
            self._done.set()

    def _play_once(self, reader: BagReader) -> None:
        start_wall_s = time.monotonic()
        start_ns = reader.info.start_ns
        for message in reader.messages():
            due_s = start_wall_s + (message.timestamp_ns - start_ns) * 1e-9 / self._rate
            if not self._wait_until(due_s, message.timestamp_ns):
                return
            self._topic_pubs[message.topic].publish(message.data)
            with self._counts_lock:
                self._published[message.topic] += 1

    def _wait_until(self, due_s: float, due_ns: int) -> bool:
        """Sleep until ``due_s`` (monotonic), when bag time ``due_ns`` is due; False if stopped.

        Meanwhile /clock is published, never past ``due_ns`` however late this thread runs.
        """
        while True:
            now_s = time.monotonic()
            remaining_s = due_s - now_s
            if self._clock_pub is not None and self._clock_period_s and (
                    now_s >= self._next_clock_s):
                self._next_clock_s = now_s + self._clock_period_s
                bag_ns = due_ns - max(0, int(remaining_s * self._rate * 1e9))
                self._clock_pub.publish(Clock(clock=Time(sec=bag_ns // 1_000_000_000,
                                                         nanosec=bag_ns % 1_000_000_000)))
            if remaining_s <= 0.0:
                return not self._stop.is_set()
            if self._clock_period_s:
                remaining_s = min(remaining_s, max(0.0, self._next_clock_s - now_s))
            if self._stop.wait(remaining_s):
                return False

    def _wait_for_subscribers(self) -> None:
        deadline_s = time.monotonic() + self._wait_for_subscribers_s
        while time.monotonic() < deadline_s and not self._stop.is_set():
            if all(pub.get_subscription_count() > 0 for pub in self._topic_pubs.values()):
                return
            self._stop.wait(_SUBSCRIBER_POLL_S)
        if self._wait_for_subscribers_s > 0:
            lonely = [topic for topic, pub in self._topic_pubs.items()
                      if pub.get_subscription_count() == 0]
            self.get_logger().warning(f'playing without subscribers on {", ".join(lonely)}')

    def _declare(self, name: str, default: Any, description: str,
                 float_range: FloatingPointRange | None = None) -> Any:
        """Declare a read-only parameter; its value, or None when a typed one is unset."""
        descriptor = ParameterDescriptor(description=description, read_only=True,
                                         floating_point_range=[float_range] if float_range else [])
        return self.declare_parameter(name, default, descriptor).value


def main(args: list[str] | None = None) -> int:
    """Entry point: play the bag, then exit (or loop until Ctrl-C)."""
    try:
        with rclpy.init(args=args):
            try:
                node = PlayerNode()
            except (ConfigError, DataError) as err:
                print(f'vla_player: {err}')
                return 1
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            try:
                while not node.wait_until_done(0.0):
                    executor.spin_once(timeout_sec=0.1)
            finally:
                executor.shutdown()
                node.destroy_node()
            return 1 if node.error else 0
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
