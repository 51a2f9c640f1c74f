# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Bags: record and read rosbag2 bags as serialized bytes, with rosbags; no rclpy.

``BagWriter`` stores CDR bytes as they arrive (the recorder node feeds it), ``BagReader`` gives
them back in time order (the player node publishes them), and ``MessageTypes`` supplies the
message definitions a bag carries, vla_ros's own interfaces included.
"""

from __future__ import annotations

from vla_ros.data.bag_reader import BagInfo, BagMessage, BagReader, TopicInfo
from vla_ros.data.bag_writer import BagWriter, StorageFormat, TopicCounts
from vla_ros.data.message_types import MessageTypes, RosDistro

__all__ = ['BagInfo', 'BagMessage', 'BagReader', 'BagWriter', 'MessageTypes', 'RosDistro',
           'StorageFormat', 'TopicCounts', 'TopicInfo']
