# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The player: a rosbag2 bag -> its topics again, with the recorded timing.

Messages are published as the serialized bytes the bag holds (``publisher.publish(bytes)``),
never deserialized, at their recorded receive times scaled by ``rate``, on a worker thread.
Each topic is offered with the QoS its recorded publishers offered (see ``ros/bag_topics.py``).

A subscriber that is up when the player starts receives every message: a new publisher reaches
it only once discovery has matched the two, which took from 0.03 s to 3 s on a loaded machine,
so before the first message the player waits for discovery to settle: until every subscriber
the graph shows on its topics (with compatible QoS) is matched, at least one is, and nothing
has changed for ``DISCOVERY_QUIET_S``; at most ``discovery_timeout_s``. After the last message
it waits (at most ``ACK_TIMEOUT_S``) until reliable subscribers have acknowledged everything.
A subscriber that appears only after the wait gets what is published from then on.

Parameters (read-only): ``bag`` (directory or .db3/.mcap file), ``rate`` (playback speed
factor), ``loop``, ``remap`` (``FROM:=TO`` entries; FROM is a topic of the bag), ``clock_rate_hz``
(publish ``/clock`` from the bag's timestamps this often; 0: no clock),
``wait_for_subscribers_s`` (before playing, first wait up to this long for every topic to have
a subscriber; 0: do not), ``discovery_timeout_s`` (the longest wait for discovery to settle;
0: start at once). The message types must be built and sourced, as for ``ros2 bag play``.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from builtin_interfaces.msg import Time
import rclpy
from rclpy.duration import Duration
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.publisher import Publisher
from rosgraph_msgs.msg import Clock

from vla_ros.core.errors import ConfigError, DataError
from vla_ros.data.bag_reader import BagReader
from vla_ros.ros.bag_topics import can_match, message_class, playback_qos
from vla_ros.ros.params import declare_read_only
from vla_ros.ros.qos import SENSOR_QOS

__all__ = ['DISCOVERY_QUIET_S', 'DISCOVERY_TIMEOUT_S', 'PlayerNode', 'main', 'parse_remaps']

#: Poll period while waiting for subscribers.
_SUBSCRIBER_POLL_S = 0.05
#: Default of ``discovery_timeout_s``: the longest wait for discovery before the first message.
DISCOVERY_TIMEOUT_S = 5.0
#: Discovery has settled when the subscribers seen and matched have not changed for this long.
DISCOVERY_QUIET_S = 1.0
#: Longest wait after the last message for reliable subscribers to acknowledge everything.
ACK_TIMEOUT_S = 5.0


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
        declare = functools.partial(declare_read_only, self)
        bag = str(declare('bag', '', 'bag directory, or a .db3 or .mcap file'))
        self._rate = float(declare('rate', 1.0, 'playback speed factor',
                                   float_range=(0.01, 100.0)))
        self._loop = bool(declare('loop', False, 'start again at the end, until stopped'))
        remaps = parse_remaps(list(declare(
            'remap', Parameter.Type.STRING_ARRAY, 'FROM:=TO: publish bag topic FROM as TO') or []))
        clock_rate_hz = float(declare('clock_rate_hz', 0.0, 'publish /clock this often; 0: no '
                                      'clock', float_range=(0.0, 1000.0)))
        self._wait_for_subscribers_s = float(declare(
            'wait_for_subscribers_s', 0.0, 'wait up to this long for subscribers before playing'))
        self._discovery_timeout_s = float(declare(
            'discovery_timeout_s', DISCOVERY_TIMEOUT_S, 'wait up to this long for discovery to '
            'settle before the first message; 0: start at once', float_range=(0.0, 3600.0)))
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
            self._wait_for_discovery()
            while not self._stop.is_set():
                self._play_once(reader)
                if not self._loop or reader.info.message_count == 0:
                    break
            if not self._stop.is_set():
                self._wait_for_acks()
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

    def _wait_for_discovery(self) -> None:
        """Wait until discovery settles (see the module docstring) or the timeout; log which."""
        start_s = time.monotonic()
        quiet_since_s, seen = start_s, self._matching()
        while not self._stop.is_set():
            now_s, matching = time.monotonic(), self._matching()
            if matching != seen:
                quiet_since_s, seen = now_s, matching
            settled = (any(matched for _, matched in seen)
                       and all(matched >= known for known, matched in seen)
                       and now_s - quiet_since_s >= DISCOVERY_QUIET_S)
            if settled or now_s - start_s >= self._discovery_timeout_s:
                break
            self._stop.wait(_SUBSCRIBER_POLL_S)
        known, matched = sum(k for k, _ in seen), sum(m for _, m in seen)
        outcome = 'settled' if matched and matched >= known else 'did not settle'
        self.get_logger().info(
            f'discovery {outcome} after {time.monotonic() - start_s:.2f} s: {matched} of '
            f'{known} subscribers matched on {len(seen)} topics; playing')

    def _matching(self) -> tuple[tuple[int, int], ...]:
        """Per topic: compatible subscribers the graph shows, and those matched."""
        return tuple(
            (sum(can_match(pub.qos_profile, info.qos_profile)
                 for info in self.get_subscriptions_info_by_topic(pub.topic_name)),
             pub.get_subscription_count())
            for pub in self._topic_pubs.values())

    def _wait_for_acks(self) -> None:
        """Let reliable subscribers acknowledge the last messages before the node goes away."""
        deadline_s = time.monotonic() + ACK_TIMEOUT_S
        for topic, pub in self._topic_pubs.items():
            left_s = max(0.0, deadline_s - time.monotonic())
            if not pub.wait_for_all_acked(Duration(nanoseconds=int(left_s * 1e9))):
                self.get_logger().warning(f'{topic}: not every subscriber acknowledged the '
                                          f'last messages within {ACK_TIMEOUT_S} s')


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
