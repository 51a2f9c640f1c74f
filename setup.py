# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""pip entry point for the ROS-free core; the metadata lives in setup.cfg."""

from setuptools import setup

setup()
