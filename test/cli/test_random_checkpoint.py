# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros random-checkpoint`: each family's random checkpoint, as the makers write it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vla_ros.cli.main import main
from vla_ros.core.config import PolicyConfig
from vla_ros.core.policy import PolicySpec
from vla_ros.core.policy_family import PolicyFamily
from vla_ros.core.policy_mapping import parse_inputs, parse_outputs
from vla_ros.core.types import Observation
from vla_ros.policies.default_robot import (
    DEFAULT_HOME_POSITIONS,
    DEFAULT_MOTION_STD,
    DEFAULT_SPEC,
)
from vla_ros.policies.flow.checkpoint import create_random_checkpoint
from vla_ros.policies.registry import load_policy

#: A two-joint, one-camera robot, so the options reach the spec.
SMALL = ('--joints', 'a', 'b', '--cameras', 'top', '--image-size', '32', '--chunk-length', '4',
         '--dt-s', '0.05')
SMALL_SPEC = PolicySpec(joint_names=('a', 'b'), camera_names=('top',), image_height=32,
                        image_width=32, chunk_length=4, dt_s=0.05)


def test_the_default_flow_checkpoint_is_the_makers_file_for_file(tmp_path: Path):
    assert main(['random-checkpoint', '--out', str(tmp_path / 'verb')]) == 0
    create_random_checkpoint(tmp_path / 'maker', DEFAULT_SPEC, seed=0,
                             home_positions=DEFAULT_HOME_POSITIONS, motion_std=DEFAULT_MOTION_STD)

    names = sorted(path.name for path in (tmp_path / 'maker').iterdir())
    assert sorted(path.name for path in (tmp_path / 'verb').iterdir()) == names
    assert all((tmp_path / 'verb' / name).read_bytes() == (tmp_path / 'maker' / name).read_bytes()
               for name in names)


@pytest.mark.parametrize('family', ['flow', 'diffusion', 'tokens', 'fast'])
def test_every_family_writes_a_checkpoint_for_the_given_robot(tmp_path: Path, family: str):
    extra = ('--home', '0.5', '-0.5', '--motion', '0.01') if family in ('flow',
                                                                        'diffusion') else ()
    assert main(['random-checkpoint', '--family', family, '--out', str(tmp_path), '--seed', '2',
                 *SMALL, *extra]) == 0

    policy = load_policy(family, tmp_path, settings=_fast_mapping(tmp_path) if family == 'fast'
                         else None)
    assert policy.spec == SMALL_SPEC
    if family in ('flow', 'diffusion'):  # small motions around the given home
        observation = Observation(
            images={'top': np.zeros((32, 32, 3), dtype=np.uint8)}, joint_names=('a', 'b'),
            joint_positions=np.array([0.5, -0.5]), instruction='touch the red cube')
        chunk = policy.infer(observation).positions
        assert np.all(np.abs(chunk - [0.5, -0.5]) < 0.2)


def _fast_mapping(folder: Path) -> PolicyConfig:
    """The YAML's policy section for the SMALL robot: fast writes a LeRobot pi0_fast folder."""
    return PolicyConfig(
        family=PolicyFamily.FAST, checkpoint=folder,
        inputs=parse_inputs({'cameras': {'observation.images.top': 'top'}, 'state': ['a', 'b']},
                            joints=('a', 'b'), cameras=('top',)),
        outputs=parse_outputs({'joints': ['a', 'b'], 'dt_s': 0.05}, joints=('a', 'b')))


@pytest.mark.parametrize(('family', 'option'), [
    ('tokens', ('--home', '0', '0', '0', '0', '0', '0', '0')),
    ('fast', ('--motion', '0.1')),
    ('tokens', ('--denoising-steps', '3')),
], ids=['tokens-home', 'fast-motion', 'tokens-steps'])
def test_an_option_the_family_does_not_read_is_refused(tmp_path: Path, capsys, family, option):
    assert main(['random-checkpoint', '--family', family, '--out', str(tmp_path / 'x'),
                 *option]) == 1

    assert f"the '{family}' family does not read it" in capsys.readouterr().err
    assert not (tmp_path / 'x').exists()
