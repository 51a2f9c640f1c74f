# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""A LeRobot pi0 folder as published loads through the config path, strictly, at any resolution."""

from __future__ import annotations

from collections.abc import Callable
import dataclasses
import json
from pathlib import Path
import shutil
from typing import Any

from lerobot_pi0_folder import (  # the test helper next to this file
    ACTION_MEAN,
    CHUNK_SIZE,
    IMAGE_KEYS,
    IMAGE_PX,
    MOTION_STD,
    write_paligemma_style_tokenizer,
    write_pi0_folder,
)
import numpy as np
import pytest
from safetensors.torch import load_file, save_file
import torch
import yaml

from vla_ros.core.config import load_config, VlaConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.types import Observation
from vla_ros.execution.policy_setup import check_policy_fits
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.registry import load_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
#: The mapping a user writes for the tabletop arm: two of the three pi0 cameras, all joints.
MAPPING = {
    'inputs': {'cameras': {IMAGE_KEYS[0]: 'front', IMAGE_KEYS[1]: 'wrist',
                           IMAGE_KEYS[2]: None},
               'state': list(JOINTS)},
    'outputs': {'joints': list(JOINTS), 'dt_s': 0.1},
}


@pytest.fixture(scope='module')
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(pi0 folder, tokenizer folder), written once for the module."""
    root = tmp_path_factory.mktemp('lerobot')
    vocab_size = write_paligemma_style_tokenizer(root / 'tokenizer')
    return write_pi0_folder(root / 'pi0', vocab_size=vocab_size), root / 'tokenizer'


def _config(tmp_path: Path, folder: Path, tokenizer: Path | None,
            edit: Callable[[dict[str, Any]], None] | None = None) -> VlaConfig:
    """The shipped tabletop config with its policy section pointed at ``folder``."""
    raw = yaml.safe_load((REPO_ROOT / 'config' / 'tabletop_arm.yaml').read_text())
    raw['embodiment']['urdf'] = str(REPO_ROOT / 'urdf' / 'tabletop_arm.urdf')
    raw.pop('sim')
    raw['policy'] = {'family': 'flow', 'checkpoint': str(folder), 'device': 'cpu',
                     'dtype': 'float32', **json.loads(json.dumps(MAPPING))}
    if tokenizer is not None:
        raw['policy']['tokenizer'] = str(tokenizer)
    if edit is not None:
        edit(raw['policy'])
    path = tmp_path / 'config' / 'robot.yaml'
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    return load_config(path)


def _load(config: VlaConfig) -> FlowPolicy:
    policy = load_policy(config.policy.family, config.policy.checkpoint,
                         device=config.policy.device, settings=config.policy)
    assert isinstance(policy, FlowPolicy)
    return policy


def _observation(front: np.ndarray) -> Observation:
    wrist = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return Observation(images={'front': front, 'wrist': wrist}, joint_names=JOINTS,
                       joint_positions=np.asarray(ACTION_MEAN), instruction='touch the red cube')


def test_published_folder_loads_through_the_config_and_infers_a_chunk(
        published: tuple[Path, Path], tmp_path: Path) -> None:
    config = _config(tmp_path, *published)
    policy = _load(config)
    check_policy_fits(config.embodiment, policy.spec)  # what the node checks at configure
    assert policy.spec.camera_names == ('front', 'wrist')
    assert policy.spec.image_height == policy.spec.image_width == IMAGE_PX
    camera = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    chunk = policy.infer(_observation(camera))
    assert chunk.joint_names == JOINTS
    assert chunk.positions.shape == (CHUNK_SIZE, len(JOINTS))
    assert chunk.dt_s == pytest.approx(0.1)
    assert np.all(np.isfinite(chunk.positions))
    # Unnormalised with the folder's own statistics: a ~N(0, 1) output lands near the means.
    deviation = np.abs(chunk.positions - np.asarray(ACTION_MEAN)) / MOTION_STD
    assert deviation.max() < 8.0
    assert chunk.positions.std(axis=0).min() > 0.0


def test_a_640x480_camera_reaches_the_model_letterboxed_with_its_aspect(
        published: tuple[Path, Path], tmp_path: Path) -> None:
    policy = _load(_config(tmp_path, *published))
    camera = np.zeros((480, 640, 3), dtype=np.uint8)
    camera[..., 0], camera[..., 1], camera[..., 2] = 255, 51, 0
    pixels = policy.processor.prepare(_observation(camera)).pixel_values[0, 0].numpy()
    # By hand: 640x480 -> 56x42 (scale 56/640), 7 black rows above and below; SigLIP's
    # [-1, 1] scaling maps black to -1 and 255 / 51 / 0 to 1 / -0.6 / -1.
    expected = np.full((3, IMAGE_PX, IMAGE_PX), -1.0, dtype=np.float32)
    expected[0, 7:49], expected[1, 7:49] = 1.0, 51 / 255 * 2 - 1
    np.testing.assert_allclose(pixels, expected, atol=1e-6)


def test_bfloat16_loads_the_weights_in_bfloat16(published: tuple[Path, Path],
                                                tmp_path: Path) -> None:
    def bf16(policy_raw: dict[str, Any]) -> None:
        policy_raw['dtype'] = 'bfloat16'
    policy = _load(_config(tmp_path, *published, edit=bf16))
    assert {parameter.dtype for parameter in policy.model.parameters()} == {torch.bfloat16}
    chunk = policy.infer(_observation(np.zeros((48, 64, 3), dtype=np.uint8)))
    assert np.all(np.isfinite(chunk.positions))


def _edited_weights(folder: Path, tmp_path: Path,
                    edit: Callable[[dict[str, torch.Tensor]], None]) -> Path:
    copy = Path(shutil.copytree(folder, tmp_path / 'edited'))
    tensors = load_file(copy / 'model.safetensors')
    edit(tensors)
    save_file(tensors, copy / 'model.safetensors')
    return copy


def _rename(tensors: dict[str, torch.Tensor]) -> None:
    tensors['model.state_projection.weight'] = tensors.pop('model.state_proj.weight')


def _drop(tensors: dict[str, torch.Tensor]) -> None:
    del tensors['model.paligemma_with_expert.gemma_expert.model.norm.weight']


def _reshape(tensors: dict[str, torch.Tensor]) -> None:
    tensors['model.action_out_proj.bias'] = torch.zeros(7)


@pytest.mark.parametrize(('edit', 'match'), [
    (_rename, r'1 missing tensors \(embed_action_time\.state_proj\.weight\); '
              r'1 unexpected tensors \(state_projection\.weight\)'),
    (_drop, r'1 missing tensors \(model\.dit\.norm\.weight\)'),
    (_reshape, r'1 tensors of the wrong shape \(action_out_proj\.bias: checkpoint \[7\], '
               r'model \[32\]\)'),
], ids=['renamed', 'missing', 'wrong-shape'])
def test_weights_that_do_not_match_exactly_are_refused_naming_them(
        published: tuple[Path, Path], tmp_path: Path,
        edit: Callable[[dict[str, torch.Tensor]], None], match: str) -> None:
    folder = _edited_weights(published[0], tmp_path, edit)
    with pytest.raises(ConfigError, match=match):
        _load(_config(tmp_path, folder, published[1]))


def test_own_format_with_a_missing_tensor_is_refused(flow_checkpoint: Path,
                                                     tmp_path: Path) -> None:
    copy = Path(shutil.copytree(flow_checkpoint, tmp_path / 'own'))
    tensors = load_file(copy / 'model.safetensors')
    del tensors['action_out_proj.bias']
    save_file(tensors, copy / 'model.safetensors', metadata={'format': 'pt'})
    with pytest.raises(ConfigError, match=r'1 missing tensors \(action_out_proj\.bias\)'):
        load_policy('flow', copy)


@pytest.mark.parametrize('policy_type', ['pi05', 'act'])
def test_another_lerobot_policy_type_is_refused_naming_the_supported_one(
        published: tuple[Path, Path], tmp_path: Path, policy_type: str) -> None:
    folder = Path(shutil.copytree(published[0], tmp_path / 'other'))
    raw = json.loads((folder / 'config.json').read_text())
    raw['type'] = policy_type
    (folder / 'config.json').write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=rf"policy type '{policy_type}' is not supported by "
                                          r"the flow family; supported: \['pi0'\]"):
        _load(_config(tmp_path, folder, published[1]))


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(policy_raw: dict[str, Any]) -> None:
        section, field = key.split('.')
        policy_raw[section][field] = value
    return edit


@pytest.mark.parametrize(('edit', 'match'), [
    (_set('inputs.state', list(JOINTS[:6])),
     r'^policy\.inputs\.state: 6 joints \[.*\], the checkpoint has 7 dimensions$'),
    (_set('outputs.joints', list(JOINTS[1:])),
     r'^policy\.outputs\.joints: 6 joints .*, the checkpoint has 7 dimensions$'),
    (_set('inputs.cameras', {IMAGE_KEYS[0]: 'front', 'observation.images.top': 'wrist',
                             IMAGE_KEYS[1]: None, IMAGE_KEYS[2]: None}),
     r"^policy\.inputs\.cameras: unknown image keys \['observation\.images\.top'\]; the "
     r"checkpoint's image keys are"),
    (_set('inputs.cameras', {IMAGE_KEYS[0]: 'front'}),
     r"^policy\.inputs\.cameras: no entry for \['observation\.images\.left_wrist_0_rgb', "),
], ids=['state-count', 'action-count', 'unknown-image-key', 'unmapped-image-key'])
def test_mapping_that_does_not_fit_the_checkpoint_is_one_line(
        published: tuple[Path, Path], tmp_path: Path,
        edit: Callable[[dict[str, Any]], None], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as error:
        _load(_config(tmp_path, *published, edit=edit))
    assert '\n' not in str(error.value)


def test_missing_tokenizer_says_what_is_missing_and_where_to_get_it(
        published: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r'^policy\.tokenizer: not set, .* has no tokenizer; '
                                          r'.*google/paligemma-3b-pt-224') as error:
        _load(_config(tmp_path, published[0], None))
    assert '\n' not in str(error.value)


def test_missing_mapping_points_at_inspect(published: tuple[Path, Path],
                                           tmp_path: Path) -> None:
    def drop(policy_raw: dict[str, Any]) -> None:
        del policy_raw['inputs'], policy_raw['outputs']
    with pytest.raises(ConfigError, match=r'policy\.inputs/policy\.outputs: .* `vla-ros inspect'):
        _load(_config(tmp_path, *published, edit=drop))


def test_own_format_refuses_a_mapping_it_does_not_need(flow_checkpoint: Path,
                                                       published: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    config = _config(tmp_path, flow_checkpoint, None)
    with pytest.raises(ConfigError, match=r'^policy\.inputs: .* is a vla_ros flow checkpoint'):
        _load(config)
    without = dataclasses.replace(config.policy, inputs=None, outputs=None, dtype=None)
    assert isinstance(load_policy('flow', flow_checkpoint, settings=without), FlowPolicy)
