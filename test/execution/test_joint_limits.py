# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Joint limits come from the URDF's numbers, by name and in the order asked for."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.testing import assert_array_equal
import pytest

from vla_ros.core.errors import ConfigError
from vla_ros.execution.joint_limits import JointLimits, load_urdf_limits

URDF = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_arm.urdf'

#: <limit> of every one-degree-of-freedom joint of urdf/tabletop_arm.urdf, in file order:
#: name, lower, upper (rad or m), velocity (rad/s or m/s).
URDF_LIMITS = [
    ('joint1', -2.9, 2.9, 2.0),
    ('joint2', -1.75, 1.75, 2.0),
    ('joint3', -2.6, 2.6, 2.5),
    ('joint4', -2.9, 2.9, 3.0),
    ('joint5', -2.0, 2.0, 3.0),
    ('joint6', -2.9, 2.9, 3.0),
    ('gripper_joint', 0.0, 0.04, 0.1),
    ('gripper_joint_mirror', 0.0, 0.04, 0.1),
]


@pytest.fixture(scope='module')
def limits() -> JointLimits:
    return load_urdf_limits(URDF)


def test_urdf_limits_are_the_numbers_in_the_file(limits: JointLimits) -> None:
    assert limits.names == tuple(name for name, *_ in URDF_LIMITS)
    assert_array_equal(limits.lower, [lower for _, lower, _, _ in URDF_LIMITS])
    assert_array_equal(limits.upper, [upper for _, _, upper, _ in URDF_LIMITS])
    assert_array_equal(limits.velocity, [velocity for *_, velocity in URDF_LIMITS])


def test_subset_gives_the_limits_in_the_requested_order(limits: JointLimits) -> None:
    subset = limits.subset(['gripper_joint', 'joint3', 'joint1'])
    assert subset.names == ('gripper_joint', 'joint3', 'joint1')
    assert_array_equal(subset.lower, [0.0, -2.6, -2.9])
    assert_array_equal(subset.upper, [0.04, 2.6, 2.9])
    assert_array_equal(subset.velocity, [0.1, 2.5, 2.0])


def test_subset_naming_a_joint_not_in_the_urdf_raises_config_error(limits: JointLimits) -> None:
    with pytest.raises(ConfigError, match=r"joints \['elbow', 'wrist'\] are not in the URDF"):
        limits.subset(['joint1', 'elbow', 'wrist'])


def test_joint_without_velocity_limit_gets_infinite_speed(tmp_path: Path) -> None:
    urdf = tmp_path / 'slider.urdf'
    urdf.write_text("""<?xml version="1.0"?>
<robot name="slider">
  <link name="base"/>
  <link name="carriage">
    <inertial>
      <mass value="1"/><inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/>
    </inertial>
  </link>
  <joint name="slide" type="prismatic">
    <parent link="base"/><child link="carriage"/><axis xyz="1 0 0"/>
    <limit lower="-0.5" upper="0.25" velocity="0" effort="10"/>
  </joint>
</robot>
""")
    limits = load_urdf_limits(urdf)
    assert limits.names == ('slide',)
    assert_array_equal(limits.lower, [-0.5])
    assert_array_equal(limits.upper, [0.25])
    assert limits.velocity[0] == np.inf


def test_missing_urdf_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'URDF .*no_robot\.urdf.* does not exist'):
        load_urdf_limits(tmp_path / 'no_robot.urdf')


def test_unparsable_urdf_raises_config_error(tmp_path: Path) -> None:
    broken = tmp_path / 'broken.urdf'
    broken.write_text('<robot name="broken"><link name="a"></robot>')
    with pytest.raises(ConfigError, match=r'URDF .*broken\.urdf.* cannot be parsed'):
        load_urdf_limits(broken)
