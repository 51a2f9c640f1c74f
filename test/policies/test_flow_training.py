# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Flow-matching training on two real MuJoCo reach episodes: loss, checkpoint, determinism."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
import pytest
import torch
from transformers import PI0ForConditionalGeneration

from vla_ros.core.config import CameraConfig
from vla_ros.core.errors import ConfigError
from vla_ros.core.training_samples import dataset_spec, MIN_STD
from vla_ros.policies.flow.checkpoint import build_model, DEFAULT_SPEC, ModelSize
from vla_ros.policies.flow.config import FlowPolicyConfig
from vla_ros.policies.flow.model import FlowPolicy
from vla_ros.policies.flow.processor import FlowProcessor
from vla_ros.policies.flow.train import (
    flow_matching_loss,
    train,
    TrainingConfig,
    TrainingResult,
)
from vla_ros.policies.flow.training_data import (
    _PixelStore,
    dataset_normalization,
    make_tensors,
    PixelCodec,
    TrainingTensors,
)
from vla_ros.policies.registry import load_policy
from vla_ros.sim.demonstrations import DemonstrationDataset, record_demonstrations
from vla_ros.sim.tasks import TaskKind

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
CAMERAS = (CameraConfig(name='front', topic='camera/front/image_raw', width=64, height=64),
           CameraConfig(name='wrist', topic='camera/wrist/image_raw', width=64, height=64))
CHUNK = 10
DT_S = 0.1
#: Full-batch steps without warm-up: enough to fit two episodes' worth of chunks roughly.
CONFIG = TrainingConfig(steps=100, batch_size=64, learning_rate=3e-3, warmup_steps=0,
                        seed=3, log_every=20)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory: pytest.TempPathFactory) -> DemonstrationDataset:
    """Two scripted reach episodes (scene seeds 7 and 8), chunks of 10."""
    out_dir = tmp_path_factory.mktemp('demos')
    record_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=2, seed=7,
                          cameras=CAMERAS, out_dir=out_dir)
    return DemonstrationDataset(out_dir, chunk_length=CHUNK)


@pytest.fixture(scope='module')
def trained(dataset: DemonstrationDataset,
            tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    return train(dataset, tmp_path_factory.mktemp('flow') / 'trained', dt_s=DT_S,
                 config=CONFIG, progress=False)


def _tensors(dataset: DemonstrationDataset) -> tuple[TrainingTensors, FlowPolicyConfig]:
    spec = dataset_spec(dataset, dt_s=DT_S)
    config = FlowPolicyConfig(spec=spec, normalization=dataset_normalization(dataset, spec))
    model, hf_processor = build_model(spec)
    processor = FlowProcessor(config, hf_processor, max_state_dim=model.config.max_state_dim,
                              max_action_dim=model.config.max_action_dim)
    return make_tensors(dataset, processor, config, max_action_dim=32), config


def _fixed_loss(model: PI0ForConditionalGeneration, tensors: TrainingTensors) -> float:
    """The masked loss of the whole dataset at one fixed draw of flow times and noise."""
    generator = torch.Generator().manual_seed(123)
    timestep = torch.rand(len(tensors), generator=generator) * 0.998 + 0.001
    noise = torch.randn(tuple(tensors.actions.shape), generator=generator)
    model.config.loss_reduction = 'none'
    with torch.no_grad():
        return float(flow_matching_loss(model, tensors, timestep=timestep, noise=noise))


def test_training_lowers_the_loss_on_a_fixed_batch(
        dataset: DemonstrationDataset, trained: TrainingResult) -> None:
    tensors, _ = _tensors(dataset)
    initial, _ = build_model(dataset_spec(dataset, dt_s=DT_S), seed=CONFIG.seed)
    fitted = PI0ForConditionalGeneration.from_pretrained(trained.checkpoint_dir,
                                                         local_files_only=True)

    before, after = _fixed_loss(initial, tensors), _fixed_loss(fitted, tensors)

    assert before > 0.5
    assert after < 0.6 * before
    assert len(trained.losses) == CONFIG.steps and trained.samples == len(dataset)
    assert np.mean(trained.losses[-10:]) < 0.6 * np.mean(trained.losses[:10])


def test_images_are_kept_as_8_bit_pixels_that_decode_to_the_model_input_exactly(
        dataset: DemonstrationDataset) -> None:
    tensors, config = _tensors(dataset)
    model, hf_processor = build_model(config.spec)
    processor = FlowProcessor(config, hf_processor, max_state_dim=model.config.max_state_dim,
                              max_action_dim=model.config.max_action_dim)
    rows = torch.tensor([0, len(dataset) - 1, 3])

    batch = tensors.select(rows)

    assert tensors.pixel_codec is not None and tensors.pixel_values.dtype == torch.uint8
    assert batch.pixel_codec is None and batch.pixel_values.dtype == torch.float32
    expected = torch.cat([processor.prepare(dataset[int(row)].observation).pixel_values
                          for row in rows])
    assert torch.equal(batch.pixel_values, expected)  # bit for bit what inference feeds
    assert torch.equal(tensors.model_pixels()[rows], expected)


def test_letterboxed_frames_are_kept_as_8_bit_pixels_too(dataset: DemonstrationDataset) -> None:
    spec = dataset_spec(dataset, dt_s=DT_S)
    config = FlowPolicyConfig(spec=spec, normalization=dataset_normalization(dataset, spec))
    model, hf_processor = build_model(spec)
    processor = FlowProcessor(config, hf_processor, max_state_dim=model.config.max_state_dim,
                              max_action_dim=model.config.max_action_dim)
    wide = dataset[1].observation  # 96 x 64 frames: resized in uint8, then the bars
    samples = [dataset[0], replace(dataset[1], observation=replace(wide, images={
        name: np.concatenate([image, image[:, :32]], axis=1)
        for name, image in wide.images.items()}))]

    tensors = make_tensors(samples, processor, config, max_action_dim=32)

    assert tensors.pixel_codec is not None
    for row, sample in enumerate(samples):
        assert torch.equal(tensors.model_pixels()[row:row + 1],
                           processor.prepare(sample.observation).pixel_values)


def test_pixel_codec_refuses_what_it_cannot_invert_and_the_store_falls_back_to_float32(
        ) -> None:
    table = np.stack([np.linspace(-1.0, 1.0, 256, dtype=np.float32)] * 3)
    codec = PixelCodec.of(table)
    assert codec is not None
    assert PixelCodec.of(None) is None
    assert PixelCodec.of(np.zeros((3, 256), np.float32)) is None  # two values, one float
    pixels = torch.randint(0, 256, (2, 3, 4, 5), dtype=torch.uint8)
    values = codec.decode(pixels)
    encoded = codec.encode(values)
    assert encoded is not None and torch.equal(encoded, pixels)
    assert codec.encode(values + 1e-3) is None  # not the image of any 8-bit pixels

    store = _PixelStore(3, codec)
    store.put(0, values[0])
    store.put(1, values[1] + 1e-3)  # a sample that is not: every image becomes float32
    store.put(2, values[0])
    assert store.codec is None and store.values is not None
    assert store.values.dtype == torch.float32
    assert torch.equal(store.values[0], values[0]) and torch.equal(store.values[2], values[0])
    assert torch.equal(store.values[1], values[1] + 1e-3)
    without = _PixelStore(2, None)  # a processor without a pixel table: float32 throughout
    without.put(0, values[0] + 1e-3)
    assert without.values is not None and without.values.dtype == torch.float32
    assert torch.equal(without.values[0], values[0] + 1e-3)


def test_loss_mask_keeps_real_joints_of_rows_inside_the_episode(
        dataset: DemonstrationDataset) -> None:
    tensors, config = _tensors(dataset)
    n_joints = len(config.spec.joint_names)
    for index in (0, len(dataset) - 1):
        sample = dataset[index]
        mask = tensors.loss_mask[index].numpy()
        assert_array_equal(mask[:, :n_joints].all(axis=1), ~sample.is_padding)
        assert not mask[:, n_joints:].any()
        assert_allclose(tensors.actions[index, :, :n_joints].numpy(),
                        config.normalization.actions.normalize(sample.actions), atol=1e-6)
    assert dataset[len(dataset) - 1].is_padding.any()  # the last chunk runs past the end


def test_checkpoint_stores_the_dataset_statistics(
        dataset: DemonstrationDataset, trained: TrainingResult) -> None:
    stored = FlowPolicyConfig.load(trained.checkpoint_dir)
    episodes = dataset.episodes
    positions = np.concatenate([demo.joint_positions for demo in episodes])
    actions = np.concatenate([demo.actions for demo in episodes])

    assert stored.spec == dataset_spec(dataset, dt_s=DT_S)
    assert stored.noise_seed == CONFIG.seed
    assert_allclose(stored.normalization.state.mean, positions.mean(axis=0))
    assert_allclose(stored.normalization.actions.mean, actions.mean(axis=0))
    assert_allclose(stored.normalization.actions.std,
                    np.maximum(actions.std(axis=0), MIN_STD))
    assert_allclose(stored.normalization.actions.q99, np.quantile(actions, 0.99, axis=0))


def test_trained_policy_infers_chunks_inside_the_demonstrated_range(
        dataset: DemonstrationDataset, trained: TrainingResult, tmp_path: Path) -> None:
    policy = load_policy('flow', trained.checkpoint_dir)
    untrained_config = TrainingConfig(steps=1, learning_rate=1e-12, seed=CONFIG.seed)
    untrained = load_policy('flow', train(dataset, tmp_path / 'untrained', dt_s=DT_S,
                                          config=untrained_config,
                                          progress=False).checkpoint_dir)
    actions = np.concatenate([demo.actions for demo in dataset.episodes])
    low, high = actions.min(axis=0), actions.max(axis=0)
    # Two episodes span a narrow range; a wrong or missing un-normalization lands far outside.
    margin = (high - low) + 3 * MIN_STD
    errors, untrained_errors = [], []
    for index in range(0, len(dataset), 2):
        sample = dataset[index]
        chunk = policy.infer(sample.observation)

        assert chunk.positions.shape == (CHUNK, 7)
        assert np.all(chunk.positions >= low - margin), chunk.positions - low
        assert np.all(chunk.positions <= high + margin), chunk.positions - high
        rows = ~sample.is_padding
        errors.append(np.abs(chunk.positions - sample.actions)[rows].mean())
        untrained_errors.append(
            np.abs(untrained.infer(sample.observation).positions - sample.actions)[rows].mean())
    # Closer to the expert's chunks than the same model before training.
    assert np.mean(errors) < 0.8 * np.mean(untrained_errors)


def test_save_and_load_repeat_the_predictions(
        dataset: DemonstrationDataset, trained: TrainingResult, tmp_path: Path) -> None:
    observation = dataset[3].observation
    policy = load_policy('flow', trained.checkpoint_dir)
    assert isinstance(policy, FlowPolicy)
    policy.save(tmp_path / 'copy')

    original = [load_policy('flow', trained.checkpoint_dir).infer(observation).positions
                for _ in range(2)]
    reloaded = load_policy('flow', tmp_path / 'copy').infer(observation).positions

    assert_array_equal(reloaded, original[0])
    assert_array_equal(original[1], original[0])


def test_same_seed_trains_identically_and_another_seed_differently(
        dataset: DemonstrationDataset, tmp_path: Path) -> None:
    short = TrainingConfig(steps=8, batch_size=4, seed=5, log_every=4)
    first, again = (train(dataset, tmp_path / name, dt_s=DT_S, config=short, progress=False)
                    for name in ('first', 'again'))
    other = train(dataset, tmp_path / 'other', dt_s=DT_S,
                  config=TrainingConfig(steps=8, batch_size=4, seed=6), progress=False)

    assert again.losses == first.losses
    assert (again.checkpoint_dir / 'model.safetensors').read_bytes() == (
        first.checkpoint_dir / 'model.safetensors').read_bytes()
    assert other.losses != first.losses


@pytest.mark.parametrize('changes, match', [
    ({'steps': 0}, r'TrainingConfig.steps: 0'),
    ({'learning_rate': float('nan')}, r'TrainingConfig.learning_rate: nan'),
    ({'torch_threads': 0}, r'TrainingConfig.torch_threads: 0'),
    ({'size': ModelSize(patch_px=12)}, r'multiple of 12'),
], ids=['no-steps', 'nan-rate', 'no-threads', 'bad-patch'])
def test_invalid_settings_are_refused(dataset: DemonstrationDataset, tmp_path: Path,
                                      changes: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        config = TrainingConfig(**{'steps': 1, **changes})  # type: ignore[arg-type]
        train(dataset, tmp_path / 'never', dt_s=DT_S, config=config, progress=False)
    assert not (tmp_path / 'never').exists()


def test_key_value_heads_are_a_model_size_setting() -> None:
    model, _ = build_model(DEFAULT_SPEC, size=ModelSize(heads=4, kv_heads=2, head_dim=16))

    for tower in (model.config.vlm_config.text_config, model.config.dit_config):
        assert (tower.num_attention_heads, tower.num_key_value_heads) == (4, 2)
    with pytest.raises(ConfigError, match=r'kv_heads: 3, expected a divisor of heads \(4\)'):
        ModelSize(heads=4, kv_heads=3)


def test_pointing_pretrains_then_freezes_the_vision_tower(dataset: DemonstrationDataset,
                                                          tmp_path: Path) -> None:
    from vla_ros.policies.pointing import PointingConfig
    from vla_ros.sim.pointing_scenes import render_pointing_scenes

    scenes = render_pointing_scenes(mjcf_path=SCENE_PATH, cameras=CAMERAS, count=24, seed=70000)
    weights = {}
    for steps in (1, 4):
        config = TrainingConfig(steps=steps, batch_size=8, warmup_steps=0, seed=2,
                                pointing=PointingConfig(steps=3, batch_size=8, held_out=8))
        result = train(dataset, tmp_path / f'steps{steps}', dt_s=DT_S, config=config,
                       progress=False, pointing=scenes)
        assert result.pointing is not None and len(result.pointing.losses) == 3
        weights[steps] = load_policy('flow', tmp_path / f'steps{steps}').model.state_dict()
    untouched = build_model(dataset_spec(dataset, dt_s=DT_S), size=TrainingConfig().size,
                            seed=2)[0].state_dict()

    vision = [name for name in weights[1] if '.vision_tower.' in name]
    others = [name for name in weights[1] if '.vision_tower.' not in name]
    assert vision and all(torch.equal(weights[1][name], weights[4][name]) for name in vision)
    assert not all(torch.equal(weights[1][name], weights[4][name]) for name in others)
    assert not all(torch.equal(weights[1][name], untouched[name]) for name in vision)


def test_pointing_cotraining_enters_every_flow_step_only_when_weighted(
        dataset: DemonstrationDataset, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from vla_ros.policies.pointing import PointingConfig
    from vla_ros.sim.pointing_scenes import render_pointing_scenes

    scenes = render_pointing_scenes(mjcf_path=SCENE_PATH, cameras=CAMERAS, count=24, seed=70001)
    losses, weights = {}, {}
    for weight in (0.0, 1.0):
        config = TrainingConfig(steps=5, batch_size=8, warmup_steps=0, seed=4,
                                pointing=PointingConfig(steps=2, batch_size=8, held_out=8),
                                pointing_weight=weight)
        with caplog.at_level('INFO', logger='vla_ros.policies.flow.train'):
            result = train(dataset, tmp_path / str(weight), dt_s=DT_S, config=config,
                           progress=False, pointing=scenes)
        losses[weight] = result.losses
        weights[weight] = load_policy('flow', result.checkpoint_dir).model.state_dict()

    # One pre-trained start, so the first flow loss is the same; then the pointing term changes
    # the updates (the reported losses are the flow loss alone) but never the frozen tower.
    assert losses[0.0][0] == pytest.approx(losses[1.0][0], abs=1e-6)
    assert not np.allclose(losses[0.0][1:], losses[1.0][1:], rtol=0.0, atol=1e-6)
    assert caplog.text.count('pointing after the flow training: held-out accuracy') == 2
    for name, tensor in weights[0.0].items():
        if '.vision_tower.' in name:
            assert torch.equal(weights[1.0][name], tensor), name
    with pytest.raises(ConfigError, match=r'TrainingConfig.pointing_weight: -1.0'):
        TrainingConfig(pointing_weight=-1.0)


def test_init_starts_from_a_checkpoint_and_refuses_one_that_does_not_fit(
        dataset: DemonstrationDataset, trained: TrainingResult, tmp_path: Path) -> None:
    """``init``: the run starts from the checkpoint's weights (fine-tuning), tower frozen."""
    gentle = TrainingConfig(steps=2, batch_size=4, learning_rate=1e-9, warmup_steps=0, seed=9)
    start = load_policy('flow', trained.checkpoint_dir).model.state_dict()

    tuned = train(dataset, tmp_path / 'tuned', dt_s=DT_S, config=gentle, progress=False,
                  init=trained.checkpoint_dir)
    fresh = train(dataset, tmp_path / 'fresh', dt_s=DT_S, config=gentle, progress=False)

    tuned_weights = load_policy('flow', tuned.checkpoint_dir).model.state_dict()
    fresh_weights = load_policy('flow', fresh.checkpoint_dir).model.state_dict()
    for name, tensor in start.items():  # two steps at 1e-9 leave the start's weights
        assert torch.allclose(tuned_weights[name], tensor, atol=1e-6), name
        if '.vision_tower.' in name:
            assert torch.equal(tuned_weights[name], tensor), name  # frozen
    assert not all(torch.allclose(fresh_weights[name], tensor, atol=1e-6)
                   for name, tensor in start.items())

    other = TrainingConfig(steps=1, batch_size=4, size=ModelSize(width=32), seed=9)
    with pytest.raises(ConfigError, match='--init .*do not fit the model'):
        train(dataset, tmp_path / 'wider', dt_s=DT_S, config=other, progress=False,
              init=trained.checkpoint_dir)
    with pytest.raises(ConfigError, match='--init'):
        train(dataset, tmp_path / 'missing', dt_s=DT_S, config=gentle, progress=False,
              init=tmp_path / 'no_such_checkpoint')
