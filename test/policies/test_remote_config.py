# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""``policy.server``: how a remote policy is named in the YAML, and each mistake's message."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError
from vla_ros.core.remote_config import ImageLayout, parse_server, WireSchema
from vla_ros.policies.registry import load_policy

DROID = {'url': 'ws://gpu:8000', 'schema': 'droid', 'cameras': ['front', 'wrist'],
         'state': [f'j{i}' for i in range(8)], 'actions': [f'j{i}' for i in range(8)]}


def test_a_droid_section_becomes_openpis_keys() -> None:
    server = parse_server({**DROID, 'api_key_env': 'KEY', 'timeout_s': 2, 'chunk_length': 15,
                           'patience_s': 12.5})

    mapping = server.mapping
    assert mapping is not None and server.schema is WireSchema.DROID
    assert [slot.key for slot in mapping.cameras] == [('observation/exterior_image_1_left',),
                                                      ('observation/wrist_image_left',)]
    assert [len(slot.joints) for slot in mapping.state] == [7, 1]
    assert mapping.chunk_length == 15 and mapping.image_height == 224
    assert server.timeout_s == 2 and server.api_key_env == 'KEY' and server.patience_s == 12.5


def test_a_custom_mapping_nests_keys_with_dots() -> None:
    server = parse_server({'url': 'ws://gpu:8000', 'schema': 'custom', 'chunk_length': 5,
                           'dt_s': 0.1, 'mapping': {
                               'image_size': [96, 128],
                               'cameras': {'images.top': {'camera': 'front', 'layout': 'chw'}},
                               'state': {'qpos': ['a', 'b']}, 'prompt': '',
                               'actions': {'out.arm': ['a', None, 'b']}}})

    mapping = server.mapping
    assert mapping is not None
    assert mapping.cameras[0].key == ('images', 'top')
    assert mapping.cameras[0].layout is ImageLayout.CHW
    assert mapping.prompt_key == () and mapping.action_columns == ('a', 'b')
    assert (mapping.image_height, mapping.image_width) == (96, 128)


@pytest.mark.parametrize(('section', 'match'), [
    ({'schema': 'droid'}, 'expected a mapping with url'),
    ({'url': 'gpu:8000'}, 'expected a URL'),
    ({'url': 'ws://gpu', 'schema': 'rt1'}, "schema: 'rt1', expected one of"),
    ({'url': 'ws://gpu', 'timeout_s': 0}, r'timeout_s: 0, expected a number > 0'),
    ({'url': 'ws://gpu', 'patience_s': -1}, r'patience_s: -1, expected a number > 0'),
    ({'url': 'ws://gpu', 'ca_file': 'ca.pem'}, r'ca_file: .*only with a wss:// url'),
    ({'url': 'ws://gpu', 'api_key': 'secret'}, 'expected a mapping with url'),
    ({'url': 'ws://gpu', 'cameras': ['front']}, 'takes no names list'),
    ({'url': 'ws://gpu', 'chunk_length': 10}, 'reads chunk_length and dt_s from the server'),
    ({**DROID, 'cameras': ['front']}, r'expected 2 entries'),
    ({**DROID, 'state': ['j0']}, r'expected 8 state joints \(\[7, 1\]\)'),
    ({'url': 'ws://gpu', 'schema': 'custom'}, 'give it exactly when schema is custom'),
    ({'url': 'ws://gpu', 'schema': 'custom', 'mapping': {'actions': {'a': ['x']}}},
     'needs chunk_length and dt_s'),
    ({'url': 'ws://gpu', 'schema': 'custom', 'chunk_length': 1, 'dt_s': 0.1,
      'mapping': {'actions': {'a': ['x', 'x']}}}, 'each name once'),
    ({'url': 'ws://gpu', 'schema': 'custom', 'chunk_length': 1, 'dt_s': 0.1,
      'mapping': {'cameras': {'a..b': 'front'}, 'actions': {'a': ['x']}}}, 'expected a key'),
    ({'url': 'ws://gpu', 'api_key_env': ''}, 'name of an environment variable'),
], ids=['no_url', 'no_scheme', 'unknown_schema', 'zero_timeout', 'negative_patience',
        'ca_file_without_tls', 'key_in_file', 'names_for_vla_ros', 'chunk_for_vla_ros',
        'droid_cameras', 'droid_state', 'custom_without_mapping', 'custom_without_chunk',
        'column_twice', 'empty_key_part', 'empty_env_name'])
def test_a_malformed_server_section_names_the_field(section: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_server(section)


def write_config(repo_root: Path, tmp_path: Path, policy: dict) -> Path:
    raw = yaml.safe_load((repo_root / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(repo_root / 'urdf' / 'tabletop_arm.urdf')
    raw['sim']['mjcf'] = str(repo_root / 'urdf' / 'tabletop_scene.xml')
    raw['policy'] = policy
    path = tmp_path / 'config.yaml'
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_remote_policy_has_a_server_and_no_checkpoint(repo_root: Path, tmp_path: Path) -> None:
    config = load_config(write_config(repo_root, tmp_path, {
        'family': 'openpi', 'server': {'url': 'ws://127.0.0.1:8000'}}))
    assert config.policy.checkpoint is None and config.policy.server is not None

    for policy, match in [
            ({'family': 'openpi'}, 'give exactly one'),
            ({'family': 'openpi', 'checkpoint': 'checkpoints/flow/reach',
              'server': {'url': 'ws://h'}}, 'give exactly one')]:
        with pytest.raises(ConfigError, match=match):
            load_config(write_config(repo_root, tmp_path, policy))


@pytest.mark.parametrize(('family', 'checkpoint', 'settings', 'match'), [
    ('openpi', 'checkpoints/flow/reach', None, "but 'openpi' is a remote family"),
    ('openpi', None, None, "policy.server: missing; the remote family 'openpi'"),
    ('flow', None, None, "policy.checkpoint: missing; the 'flow' family"),
], ids=['remote_with_checkpoint', 'remote_without_server', 'local_without_checkpoint'])
def test_the_registry_keeps_remote_and_local_families_apart(
        family: str, checkpoint: str | None, settings: None, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_policy(family, checkpoint, settings=settings)


def test_a_remote_family_refuses_torch_threads(repo_root: Path, tmp_path: Path) -> None:
    config = load_config(write_config(repo_root, tmp_path, {
        'family': 'openpi', 'threads': 1, 'server': {'url': 'ws://127.0.0.1:9'}}))
    with pytest.raises(ConfigError, match="policy.threads: the remote family 'openpi'"):
        load_policy('openpi', None, settings=config.policy)
