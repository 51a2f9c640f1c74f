# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0-FAST folder as published loads through the config path, strictly, and decodes."""

from __future__ import annotations

from collections.abc import Callable
import json
from pathlib import Path
import shutil
from typing import Any

from lerobot_pi0_fast_folder import (  # the test helper next to this file
    ACTION_MEAN,
    CHUNK_SIZE,
    IMAGE_KEYS,
    MOTION_STD,
    Planted,
    PREFIX,
    SKIP,
    write_pi0_fast_folder,
)
import numpy as np
import pytest
from safetensors.torch import load_file, save_file
import torch
import yaml

from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.errors import ConfigError, PolicyOutputError
from vla_ros.core.types import Observation
from vla_ros.execution.policy_setup import check_policy_fits
from vla_ros.policies.fast.lerobot_fast_policy import LeRobotFastPolicy, state_bins
from vla_ros.policies.registry import load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
MAPPING = {
    'inputs': {'cameras': {IMAGE_KEYS[0]: 'front', IMAGE_KEYS[1]: 'wrist',
                           IMAGE_KEYS[2]: None},
               'state': list(JOINTS)},
    'outputs': {'joints': list(JOINTS), 'dt_s': 0.1},
}


@pytest.fixture(scope='module')
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Planted]:
    """(pi0-FAST folder, what its planted model emits), written once for the module."""
    folder = tmp_path_factory.mktemp('lerobot') / 'pi0_fast'
    return folder, write_pi0_fast_folder(folder)


def _config(tmp_path: Path, folder: Path,
            edit: Callable[[dict[str, Any]], None] | None = None) -> VlaConfig:
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf')
    raw.pop('sim')
    raw['policy'] = {'family': 'fast', 'checkpoint': str(folder), 'device': 'cpu',
                     'dtype': 'float32', **json.loads(json.dumps(MAPPING))}
    if edit is not None:
        edit(raw['policy'])
    path = tmp_path / 'config' / 'robot.yaml'
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return load_config(path)


def _load(config: VlaConfig) -> LeRobotFastPolicy:
    policy = load_policy(config.policy.family, config.policy.checkpoint,
                         device=config.policy.device, settings=config.policy)
    assert isinstance(policy, LeRobotFastPolicy)
    return policy


def _observation() -> Observation:
    rng = np.random.default_rng(1)
    images = {name: rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
              for name in ('front', 'wrist')}
    # At the stored (float32) means, so the state is z-score 0 exactly.
    positions = np.asarray(ACTION_MEAN, dtype=np.float32).astype(np.float64)
    return Observation(images=images, joint_names=JOINTS, joint_positions=positions,
                       instruction='touch the red_cube')


def test_published_folder_loads_through_the_config_and_decodes_the_planted_chunk(
        published: tuple[Path, Planted], tmp_path: Path) -> None:
    folder, planted = published
    config = _config(tmp_path, folder)
    policy = _load(config)
    check_policy_fits(config.embodiment, policy.spec)
    assert policy.spec.camera_names == ('front', 'wrist')
    chunk = policy.infer(_observation())
    assert chunk.joint_names == JOINTS and chunk.dt_s == pytest.approx(0.1)
    # The model's chunk, unnormalised with the folder's statistics (z-score, eps 1e-8).
    expected = planted.normalized_chunk * (MOTION_STD + 1e-8) + np.asarray(ACTION_MEAN)
    assert chunk.positions.shape == (CHUNK_SIZE, len(JOINTS))
    np.testing.assert_allclose(chunk.positions, expected, atol=1e-9)


def test_length_constrained_decoding_from_the_config_keeps_the_planted_chunk(
        published: tuple[Path, Planted], tmp_path: Path) -> None:
    free = _load(_config(tmp_path, published[0]))
    constrained = _load(_config(tmp_path, published[0], edit=lambda policy: policy.update(
        decoding='length_constrained')))
    assert not free.length_constrained and constrained.length_constrained
    np.testing.assert_array_equal(constrained.generate_ids(_observation()),
                                  free.generate_ids(_observation()))  # a valid chunk passes


@pytest.mark.parametrize(('family', 'decoding', 'message'), [
    ('fast', 'greedy', r"policy.decoding: 'greedy', expected one of \['free', "
                       r"'length_constrained'\] or null"),
    ('flow', 'length_constrained', "policy.decoding: the 'flow' family does not read it"),
], ids=['unknown-value', 'not-fast'])
def test_a_decoding_the_family_cannot_use_is_refused(published: tuple[Path, Planted],
                                                     tmp_path: Path, family: str, decoding: str,
                                                     message: str) -> None:
    def edit(policy: dict[str, Any]) -> None:
        policy.update(family=family, decoding=decoding)
    with pytest.raises(ConfigError, match=message):
        config = _config(tmp_path, published[0], edit=edit)
        load_policy(config.policy.family, config.policy.checkpoint,
                    device=config.policy.device, settings=config.policy)


def test_generated_ids_are_action_prefix_fast_ids_skipping_128_then_the_bar(
        published: tuple[Path, Planted], tmp_path: Path) -> None:
    folder, planted = published
    policy = _load(_config(tmp_path, folder))
    tokenizer = policy.tokenizer
    generated = policy.generate_ids(_observation()).tolist()
    prefix = tokenizer.encode('Action: ', add_special_tokens=False)
    assert generated[:len(prefix)] == prefix
    assert generated[-1] == tokenizer.convert_tokens_to_ids('|')
    assert generated[len(prefix):-1] == [tokenizer.vocab_size - 1 - SKIP - f
                                         for f in planted.fast_ids]
    assert policy.fast_ids(np.asarray(generated)).tolist() == list(planted.fast_ids)


def test_prompt_is_lerobots_task_state_newline_then_bos(
        published: tuple[Path, Planted], tmp_path: Path) -> None:
    policy = _load(_config(tmp_path, folder=published[0]))
    tokenizer = policy.tokenizer
    ids = policy.prompt(_observation()).input_ids[0].tolist()
    text_ids = [i for i in ids if i < tokenizer.vocab_size]
    # State at the means: z-score 0 -> bin 128 of 256 over [-1, 1); LeRobot zero-pads the
    # 7 joints to max_state_dim 32 first, so 25 more 128s follow (test_fast_model_parity).
    assert tokenizer.decode(text_ids) == (
        '<bos>Task: touch the red cube, State: ' + ' '.join(['128'] * 32) + ';\n<bos>')
    assert len(ids) - len(text_ids) == 2 * 16  # two cameras of (56 / 14)^2 patches


@pytest.mark.parametrize(('normalized', 'text'), [
    ((-1.0, -0.9921875, 0.0, 0.9921875, 0.999, 1.0, -1.5, 3.0),
     '0 1 128 255 255 255 -1 255'),
], ids=['edges'])
def test_state_bins_are_digitize_over_256_unclipped(normalized: tuple[float, ...],
                                                   text: str) -> None:
    assert state_bins(np.asarray(normalized)) == text


def _edited(folder: Path, tmp_path: Path,
            edit: Callable[[dict[str, torch.Tensor]], None]) -> Path:
    copy = Path(shutil.copytree(folder, tmp_path / 'edited'))
    tensors = load_file(str(copy / 'model.safetensors'))
    edit(tensors)
    save_file(tensors, str(copy / 'model.safetensors'))
    return copy


def _rename(tensors: dict[str, torch.Tensor]) -> None:
    name = PREFIX + 'model.language_model.layers.1.mlp.up_proj.weight'
    tensors[name.replace('up_proj', 'upp_proj')] = tensors.pop(name)


def _drop(tensors: dict[str, torch.Tensor]) -> None:
    del tensors[PREFIX + 'model.multi_modal_projector.linear.bias']


def _reshape(tensors: dict[str, torch.Tensor]) -> None:
    name = PREFIX + 'model.language_model.norm.weight'
    tensors[name] = torch.zeros(65)


@pytest.mark.parametrize(('edit', 'message'), [
    (_rename, r'1 missing tensors \(model\.paligemma_with_expert\.paligemma\.model\.'
              r'language_model\.layers\.1\.mlp\.up_proj\.weight\); 1 unexpected tensors '
              r'\(.*layers\.1\.mlp\.upp_proj\.weight\)'),
    (_drop, r'1 missing tensors \(.*multi_modal_projector\.linear\.bias\)'),
    (_reshape, r'wrong shape \(.*language_model\.norm\.weight: checkpoint \[65\], model \[64\]'),
], ids=['renamed', 'missing', 'wrong-shape'])
def test_a_tensor_that_does_not_match_is_a_config_error_naming_it(
        published: tuple[Path, Planted], tmp_path: Path,
        edit: Callable[[dict[str, torch.Tensor]], None], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _load(_config(tmp_path, _edited(published[0], tmp_path, edit)))


@pytest.mark.parametrize(('kind', 'message'), [
    ('pi0fast', r'deprecated LeRobot <= 0\.3 layout.*supported: .pi0_fast.'),
    ('pi0_fastest', r"policy type 'pi0_fastest' is not a pi0-FAST folder"),
], ids=['deprecated', 'unknown'])
def test_other_lerobot_types_are_refused_by_name(published: tuple[Path, Planted],
                                                 tmp_path: Path, kind: str, message: str) -> None:
    copy = Path(shutil.copytree(published[0], tmp_path / 'typed'))
    raw = json.loads((copy / 'config.json').read_text())
    raw['type'] = kind
    (copy / 'config.json').write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=message):
        _load(_config(tmp_path, copy))


def test_without_action_tokenizer_the_error_says_where_to_get_it(
        published: tuple[Path, Planted], tmp_path: Path) -> None:
    copy = Path(shutil.copytree(published[0], tmp_path / 'bare'))
    shutil.rmtree(copy / 'action_tokenizer')
    with pytest.raises(ConfigError, match=r'no action_tokenizer/.*hf download '
                                          r'lerobot/fast-action-tokenizer'):
        _load(_config(tmp_path, copy))


def test_without_the_mapping_the_error_points_to_inspect(
        published: tuple[Path, Planted], tmp_path: Path) -> None:
    def unmapped(policy: dict[str, Any]) -> None:
        del policy['inputs'], policy['outputs']
    with pytest.raises(ConfigError, match=r'policy.inputs/policy.outputs: .*vla-ros inspect'):
        _load(_config(tmp_path, published[0], edit=unmapped))


def test_output_without_the_bar_holds_instead_of_padding(
        published: tuple[Path, Planted], tmp_path: Path) -> None:
    policy = _load(_config(tmp_path, published[0]))
    generated = policy.generate_ids(_observation())
    with pytest.raises(PolicyOutputError, match=r'no "\|"'):
        policy.fast_ids(generated[:-1])
    with pytest.raises(PolicyOutputError, match=r'does not start with "Action: "'):
        policy.fast_ids(generated[2:])
    truncated = np.append(generated[:-2], generated[-1])  # one FAST id short
    with pytest.raises(PolicyOutputError, match=r'expected 35 \(chunk_length 5 x action_dim 7\)'):
        policy.fast_tokenizer.decode(policy.fast_ids(truncated))


def test_inspect_prints_the_dims_and_a_policy_block(published: tuple[Path, Planted],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from vla_ros.cli.main import main

    assert main(['inspect', str(published[0])]) == 0
    out = capsys.readouterr().out
    assert 'layout: LeRobot pi0-FAST (config.json "type": "pi0_fast"); family: fast' in out
    assert 'variant: PaliGemma dummy (width 64, 4 layers, vocabulary 1472)' in out
    assert 'state: observation.state, 7 dims' in out
    assert 'actions: action, 7 dims; chunk 5 rows, LeRobot executes 5' in out
    assert 'model id V - 1 - 128 - f, "|"; at most 64 ids' in out
    assert f'      {IMAGE_KEYS[2]}: CAMERA_2' in out and '  family: fast' in out
