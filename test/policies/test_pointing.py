# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Pointing pre-training: the set on disk, the flow readout, and that it teaches the binding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.testing import assert_array_equal
import pytest
import torch

from vla_ros.core.config import CameraConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.pointing_set import PointingSet
from vla_ros.policies.flow.checkpoint import build_model, DEFAULT_SPEC, ModelSize
from vla_ros.policies.flow.pointing import pixel_values, prompt_readout
from vla_ros.policies.pointing import (
    padded_prompts,
    PointingConfig,
    PointingObjective,
    train_pointing,
)
from vla_ros.sim.pointing_scenes import render_pointing_scenes

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
CAMERAS = (CameraConfig(name='front', topic='camera/front/image_raw', width=64, height=64),
           CameraConfig(name='wrist', topic='camera/wrist/image_raw', width=64, height=64))
SIZE = ModelSize(init_std=0.125)


@pytest.fixture(scope='module')
def scenes() -> PointingSet:
    """150 rendered tabletop scenes (seeds 60000+)."""
    return render_pointing_scenes(mjcf_path=SCENE_PATH, cameras=CAMERAS, count=150, seed=60000)


def _small_set(scenes: int = 3) -> PointingSet:
    rng = np.random.default_rng(0)
    return PointingSet(
        images=rng.integers(0, 256, (scenes, 2, 8, 8, 3), dtype=np.uint8),
        positions=rng.normal(size=(scenes, 3, 2)).astype(np.float32),
        camera_names=('front', 'wrist'), object_names=('a', 'b', 'c'),
        prompts=(('touch a', 0), ('touch c', 2)))


def test_a_saved_set_loads_equal(tmp_path):
    original = _small_set()
    original.save(tmp_path / 'set.npz')

    loaded = PointingSet.load(tmp_path / 'set.npz')

    assert_array_equal(loaded.images, original.images)
    assert_array_equal(loaded.positions, original.positions)
    assert (loaded.camera_names, loaded.object_names, loaded.prompts) == (
        original.camera_names, original.object_names, original.prompts)


@pytest.mark.parametrize(('change', 'match'), [
    ({'prompts': (('touch d', 3),)}, 'object index below 3'),
    ({'prompts': ()}, 'at least one'),
    ({'camera_names': ('front',)}, r'expected \(N, 1, H, W, 3\)'),
    ({'positions': np.zeros((3, 2, 2), np.float32)}, r'expected \(3, 3, 2\)'),
], ids=['unknown-object', 'no-prompt', 'camera-count', 'position-shape'])
def test_an_inconsistent_set_is_refused(change, match):
    fields = {name: getattr(_small_set(), name) for name in
              ('images', 'positions', 'camera_names', 'object_names', 'prompts')}

    with pytest.raises(ConfigError, match=match):
        PointingSet(**{**fields, **change})


def test_a_file_that_is_not_a_set_is_refused(tmp_path):
    with pytest.raises(ConfigError, match='expected a name ending .npz'):
        _small_set().save(tmp_path / 'set.bin')
    np.savez(tmp_path / 'other.npz', images=np.zeros(3))
    with pytest.raises(ConfigError, match='not a pointing set'):
        PointingSet.load(tmp_path / 'other.npz')


def test_rendered_labels_are_the_cubes_positions(scenes):
    from vla_ros.sim.scene import TabletopSim

    with TabletopSim(SCENE_PATH) as sim:
        sim.reset(60002)
        front = sim.render('front', 64, 64)
        cubes = sim.object_positions()

    assert_array_equal(scenes.images[2, 0], front)
    assert_array_equal(scenes.positions[2], np.array(
        [cubes[name][:2] for name in ('red_cube', 'green_cube', 'blue_cube')], np.float32))
    assert {index for _, index in scenes.prompts} == {0, 1, 2}
    assert all(scenes.object_names[index].removesuffix('_cube') in text.split()
               for text, index in scenes.prompts)


def test_pointing_pixels_match_the_processor():
    _, hf_processor = build_model(DEFAULT_SPEC, size=SIZE)
    images = np.random.default_rng(1).integers(0, 256, (1, 2, 64, 64, 3), dtype=np.uint8)

    expected = hf_processor(images=[list(images[0])], text='touch the red cube',
                            input_data_format='channels_last', return_tensors='pt')

    torch.testing.assert_close(pixel_values(torch.from_numpy(images), hf_processor),
                               expected['pixel_values'], atol=1e-6, rtol=0)


def test_a_set_with_other_cameras_is_refused():
    with pytest.raises(ConfigError, match=r"cameras \['front', 'wrist'\] at 8x8"):
        _small_set().check_fits(DEFAULT_SPEC)


def _colour_centroids(images: torch.Tensor) -> torch.Tensor:
    """(B, 6): the front image's red, green and blue pixel centroids (x, y), a fixed encoder."""
    front = images[:, 0].float()
    red, green, blue = front[..., 0], front[..., 1], front[..., 2]
    masks = torch.stack([(red > green + 60) & (red > blue + 60),
                         (green > red + 40) & (green > blue + 40),
                         (blue > red + 60) & (blue > green + 60)], dim=1).float()  # (B, 3, H, W)
    rows, cols = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing='ij')
    weight = masks.sum(dim=(2, 3)).clamp(min=1.0)
    return torch.cat([(masks * cols).sum(dim=(2, 3)) / weight,
                      (masks * rows).sum(dim=(2, 3)) / weight], dim=1) / 64.0


def _pretrain(readout, parameters, *, width, data, config):
    """A fresh objective over ``readout`` and its pre-training, as the families run them."""
    objective = PointingObjective(readout, width=width, data=data, config=config)
    return train_pointing(objective, parameters, config)


def test_pretraining_points_at_the_object_each_prompt_names(scenes):
    """With a readout that sees where each colour is, pointing must pick the named one."""
    named = torch.tensor([index for _, index in scenes.prompts])
    torch.manual_seed(0)
    mixer = torch.nn.Sequential(torch.nn.Linear(18, 64), torch.nn.Tanh(), torch.nn.Linear(64, 16))

    def readout(images: torch.Tensor, prompts: torch.Tensor) -> torch.Tensor:
        choice = torch.nn.functional.one_hot(named[prompts], 3).float()
        return mixer((choice[:, :, None] * _colour_centroids(images)[:, None, :]).flatten(1))

    untrained = _pretrain(readout, list(mixer.parameters()), width=16, data=scenes,
                          config=PointingConfig(steps=0, held_out=50))
    trained = _pretrain(readout, list(mixer.parameters()), width=16, data=scenes,
                        config=PointingConfig(steps=600, learning_rate=1e-2, held_out=50))

    assert untrained.accuracy < 0.6  # chance is a third
    assert trained.accuracy >= 0.9
    assert trained.median_error_m < 0.03


def test_the_flow_readout_trains_the_vlm(scenes):
    model, hf_processor = build_model(DEFAULT_SPEC, size=SIZE, seed=0)
    readout = prompt_readout(model, hf_processor, [text for text, _ in scenes.prompts],
                             DEFAULT_SPEC)
    vlm = model.model.vlm
    before = {name: parameter.detach().clone() for name, parameter in vlm.named_parameters()}

    _pretrain(readout, list(vlm.parameters()), width=SIZE.width, data=scenes,
              config=PointingConfig(steps=3, held_out=50))

    unchanged = [name for name, parameter in vlm.named_parameters()
                 if torch.equal(before[name], parameter)
                 and 'embed_tokens' not in name]  # only the prompts' token rows move
    assert unchanged == []


def test_the_attended_readout_is_the_normalized_input_of_the_last_vlm_layer(scenes):
    model, hf_processor = build_model(DEFAULT_SPEC, size=SIZE, seed=0)
    prompts = [text for text, _ in scenes.prompts]
    attended = prompt_readout(model, hf_processor, prompts, DEFAULT_SPEC, layer='attended')
    output = prompt_readout(model, hf_processor, prompts, DEFAULT_SPEC)
    images, prompt_index = torch.from_numpy(scenes.images[:4]), torch.tensor([0, 1, 2, 0])
    last = model.model.vlm.language_model.layers[-1]
    inputs: list[torch.Tensor] = []
    hook = last.register_forward_pre_hook(lambda _module, args, kwargs: inputs.append(
        kwargs.get('hidden_states', args[0] if args else None)), with_kwargs=True)
    try:
        final = output(images, prompt_index)
    finally:
        hook.remove()

    read = attended(images, prompt_index)

    (before_last,) = inputs
    last_token = [int(np.flatnonzero(row).max()) for row in _prompt_masks(hf_processor, prompts)]
    expected = last.input_layernorm(before_last)[torch.arange(4), [last_token[i] for i in
                                                                  prompt_index.tolist()]]
    torch.testing.assert_close(read, expected)
    assert not torch.allclose(read, final)  # not the final hidden state
    read.square().sum().backward()  # the pointing loss trains what lies below the last layer
    assert all(parameter.grad is None for parameter in last.mlp.parameters())
    assert all(parameter.grad is not None
               for parameter in model.model.vlm.language_model.layers[0].parameters())
    with pytest.raises(ConfigError, match="pointing readout: 'middle', expected one of "
                                          'output, attended'):
        prompt_readout(model, hf_processor, prompts, DEFAULT_SPEC, layer='middle')


def _prompt_masks(hf_processor, prompts):
    """Each prompt's attention mask as the flow processor tokenizes it alone."""
    blank = [np.zeros((DEFAULT_SPEC.image_height, DEFAULT_SPEC.image_width, 3), np.uint8)] * len(
        DEFAULT_SPEC.camera_names)
    return [hf_processor(images=[blank], text=prompt, input_data_format='channels_last',
                         return_tensors='pt')['attention_mask'][0].numpy() for prompt in prompts]


@pytest.mark.parametrize(('field', 'value', 'match'), [
    ('steps', -1, 'steps: -1, expected an integer >= 0'),
    ('batch_size', 0, 'batch_size: 0, expected >= 1'),
    ('learning_rate', float('nan'), 'learning_rate: nan, expected > 0'),
    ('held_out', 1.5, 'held_out: 1.5, expected an integer >= 0'),
], ids=['steps', 'batch', 'rate', 'held-out'])
def test_invalid_pointing_settings_name_the_field(field, value, match):
    with pytest.raises(ConfigError, match=match):
        PointingConfig(**{field: value})


def test_too_few_scenes_for_the_held_out_share_are_refused():
    with pytest.raises(ConfigError, match='3 scenes, need more than the 200 held out'):
        PointingObjective(lambda images, prompts: images, width=2, data=_small_set(),
                          config=PointingConfig())


def test_prompts_of_different_lengths_are_right_padded_and_masked():
    input_ids, attention_mask = padded_prompts([[5, 6, 7], [8], [9, 10]])

    assert input_ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert attention_mask.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]

