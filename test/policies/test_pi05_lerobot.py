# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0.5 folder as published loads as the ``pi05`` family and matches LeRobot's own code.

The parity fixture ``test/fixtures/pi05_reference.npz`` was made by ``tools/make_pi05_fixture.py``
running LeRobot 0.4.4's ``PI05Policy`` and processor pipelines (transformers 4.53.2 with
openpi's patch) on the same miniature folder; its docstring has the command and versions.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import shutil
from typing import Any

from lerobot_pi0_folder import write_paligemma_style_tokenizer
from lerobot_pi05_folder import (  # the test helpers next to this file
    ACTION_DIM,
    ACTION_MEAN,
    CHUNK_SIZE,
    IMAGE_KEYS,
    IMAGE_PX,
    QUANTILE_HALF_RANGE,
    STATE_MEAN,
    write_pi05_folder,
)
import numpy as np
import pytest
from safetensors.torch import load_file, save_file
import torch
import yaml

from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.normalization import NormMode
from vla_ros.core.types import Observation
from vla_ros.execution.policy_setup import check_policy_fits
from vla_ros.policies.pi05.config import discretize_state, FeatureNormalizer
from vla_ros.policies.pi05.model import Pi05Policy
from vla_ros.policies.registry import load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE = REPO_ROOT / 'test' / 'fixtures' / 'pi05_reference.npz'
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
MAPPING = {
    'inputs': {'cameras': {IMAGE_KEYS[0]: 'front', IMAGE_KEYS[1]: 'wrist',
                           IMAGE_KEYS[2]: None},
               'state': list(JOINTS)},
    'outputs': {'joints': list(JOINTS), 'dt_s': 0.1},
}


@pytest.fixture(scope='module')
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(pi0.5 folder, tokenizer folder), written once for the module."""
    root = tmp_path_factory.mktemp('lerobot_pi05')
    vocab_size = write_paligemma_style_tokenizer(root / 'tokenizer')
    return write_pi05_folder(root / 'pi05', vocab_size=vocab_size), root / 'tokenizer'


def _config(tmp_path: Path, folder: Path, tokenizer: Path,
            edit: Callable[[dict[str, Any]], None] | None = None) -> VlaConfig:
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf')
    raw.pop('sim')
    raw['policy'] = {'family': 'pi05', 'checkpoint': str(folder), 'device': 'cpu',
                     'dtype': 'float32', 'tokenizer': str(tokenizer),
                     **json.loads(json.dumps(MAPPING))}
    if edit is not None:
        edit(raw['policy'])
    path = tmp_path / 'config' / 'robot.yaml'
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return load_config(path)


def _load(config: VlaConfig) -> Pi05Policy:
    policy = load_policy(config.policy.family, config.policy.checkpoint,
                         device=config.policy.device, settings=config.policy)
    assert isinstance(policy, Pi05Policy)
    return policy


def _fixture_observation(fixture: Any, case: int) -> Observation:
    images = fixture[f'case{case}_images']
    return Observation(images={'front': images[0], 'wrist': images[1]}, joint_names=JOINTS,
                       joint_positions=fixture[f'case{case}_state'].astype(np.float64),
                       instruction=str(fixture[f'case{case}_task']))


def test_published_pi05_folder_loads_through_the_config_and_infers_a_chunk(
        published: tuple[Path, Path], tmp_path: Path) -> None:
    config = _config(tmp_path, *published)
    policy = _load(config)
    check_policy_fits(config.embodiment, policy.spec)
    assert policy.spec.camera_names == ('front', 'wrist')
    assert policy.spec.image_height == policy.spec.image_width == IMAGE_PX
    camera = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    observation = Observation(images={'front': camera, 'wrist': camera}, joint_names=JOINTS,
                              joint_positions=np.asarray(STATE_MEAN),
                              instruction='touch the red cube')
    chunk = policy.infer(observation)
    assert chunk.joint_names == JOINTS
    assert chunk.positions.shape == (CHUNK_SIZE, len(JOINTS))
    assert np.all(np.isfinite(chunk.positions))
    assert chunk.positions.std(axis=0).min() > 0.0
    # Unnormalised with the folder's q01/q99: a ~N(0, 1) output lands around the means.
    assert np.abs(chunk.positions - np.asarray(ACTION_MEAN)).max() < 8 * QUANTILE_HALF_RANGE
    again = _load(config).infer(observation)  # same seed, same noise, same chunk
    np.testing.assert_array_equal(again.positions, chunk.positions)


@pytest.mark.parametrize('case', [0, 1], ids=['inside-quantiles', 'beyond-quantiles'])
def test_prompt_tokens_and_chunk_match_lerobots_own_pi05(
        published: tuple[Path, Path], tmp_path: Path, case: int) -> None:
    fixture = np.load(FIXTURE)
    policy = _load(_config(tmp_path, *published))
    observation = _fixture_observation(fixture, case)
    inputs = policy.processor.prepare(observation)
    assert inputs.prompt == str(fixture[f'case{case}_prompt'])
    np.testing.assert_array_equal(inputs.network.tokens.numpy(), fixture[f'case{case}_tokens'])
    np.testing.assert_array_equal(inputs.network.token_mask.numpy(),
                                  fixture[f'case{case}_token_mask'])
    normalized = policy.sample(observation, torch.from_numpy(fixture[f'case{case}_noise']))
    np.testing.assert_allclose(normalized.numpy(), fixture[f'case{case}_normalized_chunk'],
                               rtol=0, atol=1e-4)
    chunk = policy.processor.to_action_chunk(normalized)
    np.testing.assert_allclose(chunk.positions, fixture[f'case{case}_chunk'], rtol=0, atol=1e-4)


def test_state_bins_reproduce_openpis_edges_without_clipping() -> None:
    normalizer = FeatureNormalizer(mode=NormMode.QUANTILE, low=(-1.0, -1.0, -1.0, -1.0),
                                   high=(1.0, 1.0, 1.0, 1.0))
    normalized = normalizer.normalize(np.array([-1.5, -1.0, 0.0, 0.99609375]))
    np.testing.assert_array_equal(discretize_state(normalized, 6), [-1, 0, 128, 255, 128, 128])


def _edited_weights(folder: Path, tmp_path: Path,
                    edit: Callable[[dict[str, torch.Tensor]], None]) -> Path:
    copy = Path(shutil.copytree(folder, tmp_path / 'edited'))
    tensors = load_file(copy / 'model.safetensors')
    edit(tensors)
    save_file(tensors, copy / 'model.safetensors')
    return copy


def _rename(tensors: dict[str, torch.Tensor]) -> None:
    tensors['model.time_mlp_input.weight'] = tensors.pop('model.time_mlp_in.weight')


def _drop(tensors: dict[str, torch.Tensor]) -> None:
    del tensors['model.paligemma_with_expert.gemma_expert.model.norm.dense.bias']


def _pi0_norm(tensors: dict[str, torch.Tensor]) -> None:  # a pi0 expert norm, not adaRMS
    del tensors['model.paligemma_with_expert.gemma_expert.model.norm.dense.weight']
    del tensors['model.paligemma_with_expert.gemma_expert.model.norm.dense.bias']
    tensors['model.paligemma_with_expert.gemma_expert.model.norm.weight'] = torch.zeros(64)


def _reshape(tensors: dict[str, torch.Tensor]) -> None:
    tensors['model.action_out_proj.bias'] = torch.zeros(ACTION_DIM)


@pytest.mark.parametrize(('edit', 'match'), [
    (_rename, r'1 missing tensors \(time_mlp_in\.weight\); '
              r'1 unexpected tensors \(time_mlp_input\.weight\)'),
    (_drop, r'1 missing tensors \(paligemma_with_expert\.gemma_expert\.model\.norm\.dense'
            r'\.bias\)'),
    (_pi0_norm, r'2 missing tensors \(.*norm\.dense\.bias, .*norm\.dense\.weight\); '
                r'1 unexpected tensors \(.*gemma_expert\.model\.norm\.weight\)'),
    (_reshape, r'1 tensors of the wrong shape \(action_out_proj\.bias: checkpoint \[7\], '
               r'model \[32\]\)'),
], ids=['renamed', 'missing', 'pi0-norm', 'wrong-shape'])
def test_weights_that_do_not_match_exactly_are_refused_naming_them(
        published: tuple[Path, Path], tmp_path: Path,
        edit: Callable[[dict[str, torch.Tensor]], None], match: str) -> None:
    folder = _edited_weights(published[0], tmp_path, edit)
    with pytest.raises(ConfigError, match=match) as error:
        _load(_config(tmp_path, folder, published[1]))
    assert '\n' not in str(error.value)


@pytest.mark.parametrize(('policy_type', 'match'), [
    ('pi0', r"config\.json: type 'pi0', expected 'pi05'"),
    ('act', r"config\.json: type 'act', expected 'pi05'"),
])
def test_a_folder_of_another_type_is_refused_naming_it(
        published: tuple[Path, Path], tmp_path: Path, policy_type: str, match: str) -> None:
    folder = Path(shutil.copytree(published[0], tmp_path / 'other'))
    raw = json.loads((folder / 'config.json').read_text())
    raw['type'] = policy_type
    (folder / 'config.json').write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=match):
        _load(_config(tmp_path, folder, published[1]))


def test_the_flow_family_points_a_pi05_folder_at_the_pi05_family(
        published: tuple[Path, Path], tmp_path: Path) -> None:
    def flow(policy_raw: dict[str, Any]) -> None:
        policy_raw['family'] = 'flow'
    config = _config(tmp_path, *published, edit=flow)
    with pytest.raises(ConfigError, match=r"type 'pi05' is not supported by the flow family; "
                                          r"supported: \['pi0'\] \(load it with policy\.family: "
                                          r'pi05\)'):
        load_policy('flow', config.policy.checkpoint, settings=config.policy)


def test_quantile_statistics_missing_from_the_folder_are_named(
        published: tuple[Path, Path], tmp_path: Path) -> None:
    folder = Path(shutil.copytree(published[0], tmp_path / 'no_quantiles'))
    name = 'policy_postprocessor_step_0_unnormalizer_processor.safetensors'
    stats = {key: value for key, value in load_file(folder / name).items()
             if not key.endswith(('.q01', '.q99'))}
    save_file(stats, folder / name)
    with pytest.raises(ConfigError, match=r'policy_postprocessor action: no q01/q99 statistics, '
                                          r'which QUANTILES normalisation needs'):
        _load(_config(tmp_path, folder, published[1]))


def test_missing_mapping_points_at_inspect(published: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    def drop(policy_raw: dict[str, Any]) -> None:
        del policy_raw['inputs'], policy_raw['outputs']
    with pytest.raises(ConfigError, match=r'policy\.inputs/policy\.outputs: .* LeRobot pi05 '
                                          r'folder, .* `vla-ros inspect'):
        _load(_config(tmp_path, *published, edit=drop))
