# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Observation.images_for: the one camera-vs-spec check every processor uses."""

from __future__ import annotations

import numpy as np
import pytest

from vla_ros.core.errors import InputError
from vla_ros.core.policy import PolicySpec
from vla_ros.core.types import Observation

SPEC = PolicySpec(joint_names=('a',), camera_names=('wrist', 'front'), image_height=2,
                  image_width=3, chunk_length=1, dt_s=0.1)


def _observation(*cameras: str) -> Observation:
    return Observation(images={name: np.full((2, 3, 3), index, dtype=np.uint8)
                               for index, name in enumerate(cameras)},
                       joint_names=('a',), joint_positions=np.zeros(1), instruction='go')


def test_images_come_in_the_spec_order_and_extra_cameras_are_left_out():
    images = _observation('front', 'top', 'wrist').images_for(SPEC)

    assert [int(image[0, 0, 0]) for image in images] == [2, 0]


def test_a_missing_camera_names_it_and_what_the_policy_needs():
    with pytest.raises(InputError, match=r"^camera 'wrist': no image in the observation; the "
                                         r"policy needs \['wrist', 'front'\], got \['front'\]$"):
        _observation('front').images_for(SPEC)


def test_a_policy_without_cameras_reads_none():
    spec = PolicySpec(joint_names=('a',), camera_names=(), image_height=1, image_width=1,
                      chunk_length=1, dt_s=0.1)

    assert _observation('front').images_for(spec) == ()
