# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""PolicyFamily: the names users write are the enum's values; the registry and verbs share it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from vla_ros.cli.random_checkpoint import RANDOM_FAMILIES
from vla_ros.cli.train_families import TRAINERS
from vla_ros.core.config import load_config, parse_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.policy_family import PolicyFamily
from vla_ros.policies.registry import FAMILIES, REMOTE_FAMILIES


@pytest.mark.parametrize('name', ['flow', 'tokens', 'fast', 'diffusion', 'pi05', 'openpi',
                                  'groot', 'openvla'])
def test_every_name_users_write_parses_to_the_member_that_equals_it(name):
    family = PolicyFamily.parse(name)

    assert family == name and f'{family}' == name and family.value == name
    assert f'{family!r}' == repr(name)


def test_an_unknown_name_names_the_field_and_the_known_families():
    with pytest.raises(ConfigError, match=(
            r"^policy\.family: 'pi0' is not registered; known: \['diffusion', 'fast', 'flow', "
            r"'pi05', 'tokens'\] and remote \['groot', 'openpi', 'openvla'\]$")):
        PolicyFamily.parse('pi0')


def test_registry_and_verbs_key_their_tables_by_the_enum():
    assert set(FAMILIES) | set(REMOTE_FAMILIES) == set(PolicyFamily)
    assert {family for family in PolicyFamily if family.is_remote} == set(REMOTE_FAMILIES)
    assert all(isinstance(family, PolicyFamily)
               for family in (*FAMILIES, *REMOTE_FAMILIES, *TRAINERS, *RANDOM_FAMILIES))
    assert set(TRAINERS) == set(RANDOM_FAMILIES) == {
        PolicyFamily.FLOW, PolicyFamily.TOKENS, PolicyFamily.FAST, PolicyFamily.DIFFUSION}


CONFIG = Path(__file__).resolve().parents[2] / 'config' / 'tabletop_arm.yaml'


def test_the_config_holds_the_family_as_the_enum_and_refuses_an_unknown_name():
    raw = yaml.safe_load(CONFIG.read_text())

    assert parse_config(raw, root=CONFIG.parent).policy.family is PolicyFamily.FLOW
    raw['policy']['family'] = 'pi0'
    with pytest.raises(ConfigError, match=r"^policy\.family: 'pi0' is not registered"):
        parse_config(raw, root=CONFIG.parent)


def test_a_family_given_by_name_later_becomes_the_enum():
    policy = load_config(CONFIG).policy

    assert dataclasses.replace(policy, family='tokens').family is PolicyFamily.TOKENS
