# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The QoS profiles vla_ros uses; every publisher and subscription takes one of these."""

from __future__ import annotations

from rclpy.qos import (
                       DurabilityPolicy,
                       HistoryPolicy,
                       qos_profile_sensor_data,
                       QoSProfile,
                       ReliabilityPolicy,
)

__all__ = ['COMMAND_QOS', 'SENSOR_QOS', 'STATUS_QOS']

#: Cameras and joint states: best effort, newest few (a reliable publisher still matches).
SENSOR_QOS = qos_profile_sensor_data

#: Trajectories to controllers: reliable, shallow; each message replaces the previous one.
COMMAND_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=5,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.VOLATILE)

#: Status: reliable and latched, so a late subscriber sees the current state.
STATUS_QOS = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=1,
                        reliability=ReliabilityPolicy.RELIABLE,
                        durability=DurabilityPolicy.TRANSIENT_LOCAL)
