# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The diffusion policy on tiny real networks: loading, determinism, training and the samplers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import dataclasses
import json
from pathlib import Path
import shutil
import subprocess
import sys

import numpy as np
from numpy.testing import assert_allclose, assert_array_equal
import pytest
import torch

from vla_ros.cli.main import main as cli_main
from vla_ros.core.config import CameraConfig
from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.normalization import QuantileStats
from vla_ros.core.types import Observation
from vla_ros.policies.base import Policy
from vla_ros.policies.default_robot import DEFAULT_HOME_POSITIONS, DEFAULT_SPEC
from vla_ros.policies.diffusion.checkpoint import create_random_checkpoint, DEFAULT_MOTION
from vla_ros.policies.diffusion.config import (
    Architecture,
    BetaSchedule,
    CONFIG_FILENAME,
    DiffusionPolicyConfig,
    NoiseSchedule,
    Sampler,
    Sampling,
    WEIGHTS_FILENAME,
)
from vla_ros.policies.diffusion.model import build_network, DiffusionPolicy
from vla_ros.policies.diffusion.noise_schedule import DiffusionProcess
from vla_ros.policies.diffusion.processor import build_tokenizer, DiffusionProcessor
from vla_ros.policies.diffusion.train import (
    diffusion_loss,
    shift_images,
    train,
    TrainingConfig,
    TrainingResult,
    WeightAverage,
)
from vla_ros.policies.diffusion.training_data import (
    make_tensors,
    QUANTILE_EPS,
    TrainingTensors,
)
from vla_ros.policies.registry import load_policy
from vla_ros.sim.demonstrations import DemonstrationDataset, record_demonstrations
from vla_ros.sim.tasks import TaskKind

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
CAMERAS = (CameraConfig(name='front', topic='camera/front/image_raw', width=64, height=64),
           CameraConfig(name='wrist', topic='camera/wrist/image_raw', width=64, height=64))
#: A network of a few ten thousand parameters: every part of the real one, tiny widths.
TINY = Architecture(conv_channels=(8, 8), keypoints=4, text_width=16, max_text_tokens=12,
                    cond_width=32, time_width=16, unet_widths=(16, 32))
SCHEDULE = NoiseSchedule(train_steps=20)
TRAINING = TrainingConfig(steps=40, batch_size=32, learning_rate=1e-2, warmup_steps=0,
                          seed=3, architecture=TINY, schedule=SCHEDULE,
                          sampling=Sampling(steps=5), log_every=20)


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread() -> Iterator[None]:
    """Tiny networks run fastest on one thread; a second only contends on a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _load(checkpoint_dir: Path) -> DiffusionPolicy:
    policy = load_policy('diffusion', checkpoint_dir)
    assert isinstance(policy, DiffusionPolicy)
    return policy


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_random_checkpoint(
        tmp_path_factory.mktemp('diffusion') / 'random', DEFAULT_SPEC, seed=0,
        home_positions=DEFAULT_HOME_POSITIONS, motion_rad=DEFAULT_MOTION, architecture=TINY,
        schedule=SCHEDULE, sampling=Sampling(steps=4))


@pytest.fixture(scope='module')
def demos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scripted reach episodes (scene seeds 7 and 8) on disk."""
    out_dir = tmp_path_factory.mktemp('demos')
    record_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=2, seed=7,
                          cameras=CAMERAS, out_dir=out_dir)
    return out_dir


@pytest.fixture(scope='module')
def dataset(demos_dir: Path) -> DemonstrationDataset:
    """The two episodes as samples, chunks of 10."""
    return DemonstrationDataset(demos_dir, chunk_length=10)


@pytest.fixture(scope='module')
def trained(dataset: DemonstrationDataset,
            tmp_path_factory: pytest.TempPathFactory) -> TrainingResult:
    return train(dataset, tmp_path_factory.mktemp('diffusion') / 'trained', dt_s=dataset.dt_s,
                 config=TRAINING, progress=False)


def _chunks(policy: Policy, observation: Observation, count: int) -> list[np.ndarray]:
    return [policy.infer(observation).positions for _ in range(count)]


def test_random_checkpoint_loads_through_the_registry_and_stays_in_its_band(
        random_checkpoint: Path, make_observation: Callable[..., Observation]) -> None:
    policy: Policy = _load(random_checkpoint)
    chunk = policy.infer(make_observation())

    assert policy.spec == DEFAULT_SPEC
    assert chunk.joint_names == DEFAULT_SPEC.joint_names
    assert chunk.positions.shape == (10, 7) and chunk.dt_s == pytest.approx(0.1)
    assert np.all(np.isfinite(chunk.positions))
    # The clipped [-1, 1] model space spans exactly home +- DEFAULT_MOTION.
    offset = np.abs(chunk.positions - DEFAULT_HOME_POSITIONS)
    assert np.all(offset <= np.asarray(DEFAULT_MOTION) + 1e-6)
    assert offset.max() > 0.1 * max(DEFAULT_MOTION)


def test_same_checkpoint_and_seed_repeat_the_chunk_sequence(
        random_checkpoint: Path, make_observation: Callable[..., Observation],
        tmp_path: Path) -> None:
    observation = make_observation(seed=1)
    first, again = (_chunks(_load(random_checkpoint), observation, 2) for _ in range(2))
    other_dir = shutil.copytree(random_checkpoint, tmp_path / 'other_seed')
    raw = json.loads((other_dir / CONFIG_FILENAME).read_text())
    raw['sampling']['noise_seed'] = 1
    (other_dir / CONFIG_FILENAME).write_text(json.dumps(raw))
    other = _chunks(_load(other_dir), observation, 1)

    assert_array_equal(again[0], first[0])
    assert_array_equal(again[1], first[1])
    assert not np.array_equal(first[1], first[0])  # fresh noise for every chunk
    assert not np.array_equal(other[0], first[0])


def test_chunk_lengths_that_do_not_halve_evenly_are_padded_and_cropped(
        tmp_path: Path, make_observation: Callable[..., Observation]) -> None:
    spec = dataclasses.replace(DEFAULT_SPEC, chunk_length=7)
    policy = _load(create_random_checkpoint(tmp_path / 'seven', spec, architecture=TINY,
                                            schedule=SCHEDULE, sampling=Sampling(steps=2)))
    assert policy.infer(make_observation()).positions.shape == (7, 7)


@pytest.mark.parametrize('change, error, match', [
    (lambda o: dataclasses.replace(o, images={'front': o.images['front']}), InputError,
     r"camera 'wrist'"),
    (lambda o: dataclasses.replace(o, images={**o.images, 'wrist': o.images['wrist'][:32]}),
     InputError, r"camera 'wrist'.*expected 64x64"),
    (lambda o: dataclasses.replace(o, instruction='  '), InputError, r'instruction is empty'),
], ids=['missing-camera', 'wrong-size', 'empty-instruction'])
def test_bad_observations_are_refused(
        random_checkpoint: Path, observation: Observation,
        change: Callable[[Observation], Observation], error: type[Exception],
        match: str) -> None:
    with pytest.raises(error, match=match):
        _load(random_checkpoint).infer(change(observation))


def test_weights_that_do_not_fit_the_config_are_refused(random_checkpoint: Path,
                                                        tmp_path: Path) -> None:
    copy = shutil.copytree(random_checkpoint, tmp_path / 'copy')
    raw = json.loads((copy / CONFIG_FILENAME).read_text())
    raw['architecture']['keypoints'] = 5
    (copy / CONFIG_FILENAME).write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r'model.safetensors: weights do not fit'):
        load_policy('diffusion', copy)


@pytest.mark.parametrize('edit, match', [
    (lambda raw: raw['sampling'].update(steps=50), r'sampling.steps: 50, expected at most'),
    (lambda raw: raw['architecture'].update(bogus=1), r"architecture: unknown keys \['bogus'\]"),
    (lambda raw: raw['normalization']['actions'].update(mode='minmax'),
     r"normalization.actions.mode: 'minmax'"),
    (lambda raw: raw['schedule'].update(beta_schedule='sigmoid'),
     r"schedule.beta_schedule: 'sigmoid'"),
    (lambda raw: raw['spec'].update(chunk_length='10'), r"spec.chunk_length: '10'"),
], ids=['too-many-steps', 'unknown-key', 'bad-norm-mode', 'bad-schedule', 'string-length'])
def test_invalid_config_files_name_the_field(random_checkpoint: Path,
                                             edit: Callable[[dict], None], match: str) -> None:
    raw = json.loads((random_checkpoint / CONFIG_FILENAME).read_text())
    edit(raw)
    with pytest.raises(ConfigError, match=match):
        DiffusionPolicyConfig.from_json(raw)


def test_config_round_trips_through_json(random_checkpoint: Path) -> None:
    config = DiffusionPolicyConfig.load(random_checkpoint)
    assert DiffusionPolicyConfig.from_json(
        json.loads(json.dumps(config.to_json()))) == config
    assert config.architecture.vocab_size == _load(
        random_checkpoint).processor.tokenizer.get_vocab_size()


def test_tokenizer_pads_lowercases_and_maps_unknown_words(random_checkpoint: Path) -> None:
    tokenizer = _load(random_checkpoint).processor.tokenizer
    again = build_tokenizer((), max_tokens=TINY.max_text_tokens)
    encoding = tokenizer.encode('Touch the RED cube, zorblax!')

    assert encoding.tokens[:7] == ['touch', 'the', 'red', 'cube', ',', '[UNK]', '!']
    assert encoding.ids[5] == 1 and encoding.ids[7:] == [0] * (TINY.max_text_tokens - 7)
    assert encoding.attention_mask == [1] * 7 + [0] * (TINY.max_text_tokens - 7)
    assert again.encode('touch the red cube').ids == tokenizer.encode('touch the red cube').ids


def test_masked_dimensions_pass_raw_and_padding_is_zero(random_checkpoint: Path) -> None:
    config = DiffusionPolicyConfig.load(random_checkpoint)
    actions_stats = dataclasses.replace(config.normalization.actions.stats,
                                        mask=(True,) * 6 + (False,))
    masked = dataclasses.replace(config, normalization=dataclasses.replace(
        config.normalization, actions=dataclasses.replace(config.normalization.actions,
                                                          stats=actions_stats)))
    processor = DiffusionProcessor(masked, build_tokenizer((), max_tokens=12))
    actions = np.tile(np.asarray(DEFAULT_HOME_POSITIONS) + 0.05, (10, 1))

    normalized = processor.normalize_actions(actions)
    chunk = processor.to_action_chunk(torch.from_numpy(normalized)[None])

    assert normalized.shape == (10, TINY.max_action_dim)
    assert_array_equal(normalized[:, 7:], 0.0)
    assert_allclose(normalized[:, 6], actions[:, 6], rtol=1e-6)  # the gripper stays raw
    assert_allclose(normalized[:, :6], 0.5, atol=1e-5)  # home + 0.05 of a +-0.1 band
    assert_allclose(chunk.positions, actions, atol=1e-6)


def _schedule_cases() -> list[NoiseSchedule]:
    return [NoiseSchedule(train_steps=50),
            NoiseSchedule(train_steps=50, beta_schedule=BetaSchedule.LINEAR,
                          beta_start=1e-3, beta_end=0.2)]


@pytest.mark.parametrize('schedule', _schedule_cases(), ids=['cosine', 'linear'])
def test_noise_schedule_runs_from_clean_to_noise(schedule: NoiseSchedule) -> None:
    process = DiffusionProcess(schedule)
    alpha_bar = process.alphas_cumprod.numpy()

    assert np.all(np.diff(alpha_bar) < 0) and alpha_bar[0] > 0.99
    assert alpha_bar[-1] < 0.02
    assert process.ddim_timesteps(50) == list(range(49, -1, -1))
    assert process.ddim_timesteps(5) == [49, 39, 29, 19, 9]


def _oracle(process: DiffusionProcess, clean: torch.Tensor,
            noise: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The exact noise of ``sample`` if it lies on the forward path of ``clean``."""
    def predict(sample: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        alpha_bar = process.alphas_cumprod[steps].reshape(-1, 1, 1)
        return (sample - alpha_bar.sqrt() * clean) / (1.0 - alpha_bar).sqrt()
    return predict


@pytest.mark.parametrize('steps', [50, 7, 1])
def test_deterministic_ddim_recovers_the_clean_chunk_without_drawing_noise(
        steps: int) -> None:
    process = DiffusionProcess(NoiseSchedule(train_steps=50))
    generator = torch.Generator().manual_seed(0)
    clean = torch.rand((2, 10, 8), generator=generator, dtype=torch.float64) * 2 - 1
    noise = torch.randn((2, 10, 8), generator=generator, dtype=torch.float64)
    state = generator.get_state()

    result = process.sample(_oracle(process, clean, noise), noise,
                            Sampling(steps=steps, eta=0.0), generator)

    assert_allclose(result.numpy(), clean.numpy(), atol=1e-9)
    assert torch.equal(generator.get_state(), state)


def test_deterministic_ddim_step_stays_on_the_forward_path_of_its_noise() -> None:
    process = DiffusionProcess(NoiseSchedule(train_steps=50))
    generator = torch.Generator().manual_seed(1)
    clean = torch.rand((3, 10, 8), generator=generator, dtype=torch.float64) * 2 - 1
    noise = torch.randn((3, 10, 8), generator=generator, dtype=torch.float64)
    predict = _oracle(process, clean, noise)
    for step in (49, 30, 1):
        noisy = process.add_noise(clean, noise, torch.full((3,), step))
        moved = process.ddim_step(predict(noisy, torch.full((3,), step)), step, step - 1,
                                  noisy, eta=0.0, clip_sample=1.0)
        assert_allclose(moved.numpy(),
                        process.add_noise(clean, noise, torch.full((3,), step - 1)).numpy(),
                        atol=1e-9)


def test_ddim_with_every_step_and_eta_one_is_the_ddpm_sampler(random_checkpoint: Path) -> None:
    network = _load(random_checkpoint).network
    steps = 10  # any schedule works with the network: it only embeds the step number
    process = DiffusionProcess(NoiseSchedule(train_steps=steps))
    cond = torch.randn((2, TINY.cond_width), generator=torch.Generator().manual_seed(2))

    def predict(sample: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return network.predict_noise(sample.float(), steps, cond).double()

    start = torch.randn((2, 10, TINY.max_action_dim), dtype=torch.float64,
                        generator=torch.Generator().manual_seed(3))
    runs = {sampler: process.sample(predict, start, Sampling(sampler=sampler, steps=steps,
                                                             eta=1.0),
                                    torch.Generator().manual_seed(4))
            for sampler in (Sampler.DDIM, Sampler.DDPM)}
    deterministic = process.sample(predict, start, Sampling(steps=steps),
                                   torch.Generator().manual_seed(4))

    assert_allclose(runs[Sampler.DDIM].numpy(), runs[Sampler.DDPM].numpy(), atol=1e-6)
    assert not np.allclose(deterministic.numpy(), runs[Sampler.DDPM].numpy(), atol=1e-3)
    assert float(runs[Sampler.DDPM].abs().max()) <= 1.0 + 1e-9  # the last x0 is clipped


def _fixed_loss(policy_dir: Path, tensors: TrainingTensors, *, untrained: bool) -> float:
    config = DiffusionPolicyConfig.load(policy_dir)
    network = (build_network(config, seed=TRAINING.seed) if untrained
               else _load(policy_dir).network)
    process = DiffusionProcess(config.schedule)
    generator = torch.Generator().manual_seed(123)
    timesteps = torch.randint(0, SCHEDULE.train_steps, (2 * len(tensors),), generator=generator)
    noise = torch.randn((2 * len(tensors), *tensors.actions.shape[1:]), generator=generator)
    with torch.no_grad():
        return float(diffusion_loss(network, process, tensors, timesteps=timesteps,
                                    noise=noise))


def test_training_lowers_the_noise_prediction_loss(
        dataset: DemonstrationDataset, trained: TrainingResult) -> None:
    policy = _load(trained.checkpoint_dir)
    tensors = make_tensors(dataset, policy.processor, train_padding=True)

    before = _fixed_loss(trained.checkpoint_dir, tensors, untrained=True)
    after = _fixed_loss(trained.checkpoint_dir, tensors, untrained=False)

    # Forty steps take the loss from ~1 (the network ignores its input) to ~0.75; the part
    # left is the low-noise steps, where the clean chunk must be known from the observation.
    assert before > 0.9
    assert after < 0.85 * before
    assert len(trained.losses) == TRAINING.steps and trained.samples == len(dataset)
    assert np.mean(trained.losses[-10:]) < 0.85 * np.mean(trained.losses[:10])


def test_trained_policy_stays_within_the_training_action_range(
        dataset: DemonstrationDataset, trained: TrainingResult) -> None:
    policy = _load(trained.checkpoint_dir)
    actions = np.stack([dataset[index].actions[0] for index in range(len(dataset))])
    low, high = np.quantile(actions, [0.01, 0.99], axis=0)

    stats = policy.config.normalization.actions.stats
    assert isinstance(stats, QuantileStats) and stats.eps == QUANTILE_EPS
    assert_allclose(stats.q01, low)
    assert_allclose(stats.q99, high)
    for index in range(0, len(dataset), 3):
        positions = policy.infer(dataset[index].observation).positions
        assert np.all(np.isfinite(positions))
        # The clipped model space [-1, 1] maps onto [q01, q99 + eps].
        assert np.all(positions >= low - 1e-9)
        assert np.all(positions <= high + QUANTILE_EPS + 1e-9)


def test_save_and_load_repeat_the_predictions(
        dataset: DemonstrationDataset, trained: TrainingResult, tmp_path: Path) -> None:
    observation = dataset[2].observation
    _load(trained.checkpoint_dir).save(tmp_path / 'copy')

    original = _chunks(_load(trained.checkpoint_dir), observation, 2)
    reloaded = _chunks(_load(tmp_path / 'copy'), observation, 2)

    assert_array_equal(reloaded[0], original[0])
    assert_array_equal(reloaded[1], original[1])
    for name in (WEIGHTS_FILENAME, CONFIG_FILENAME):
        assert (tmp_path / 'copy' / name).read_bytes() == (
            trained.checkpoint_dir / name).read_bytes()


@pytest.mark.parametrize('step', [0, 10, 19])
def test_min_snr_weighting_scales_each_step_by_its_capped_snr(
        dataset: DemonstrationDataset, trained: TrainingResult, step: int) -> None:
    policy = _load(trained.checkpoint_dir)
    tensors = make_tensors(dataset, policy.processor, train_padding=True)
    process = DiffusionProcess(SCHEDULE)
    timesteps = torch.full((len(tensors),), step)
    noise = torch.randn(tuple(tensors.actions.shape), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        plain, weighted = (float(diffusion_loss(policy.network, process, tensors,
                                                timesteps=timesteps, noise=noise,
                                                snr_gamma=gamma)) for gamma in (None, 5.0))
    alpha_bar = float(process.alphas_cumprod[step])
    snr = alpha_bar / (1 - alpha_bar)
    assert weighted == pytest.approx(plain * min(snr, 5.0) / snr, rel=1e-5)


def test_weight_average_warms_up_then_moves_slowly(random_checkpoint: Path) -> None:
    network = _load(random_checkpoint).network
    average = WeightAverage(network, max_decay=0.99)
    start = [parameter.detach().clone() for parameter in network.parameters()]
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(1.0)
    average.update(network, step=0)  # decay min(0.99, 1 / 10)
    first = [parameter.detach().clone() for parameter in average.network.parameters()]
    average.update(network, step=1000)  # decay 0.99

    for before, after, kept in zip(start, first, average.network.parameters()):
        assert_allclose(after.numpy(), before.numpy() + 0.9, atol=1e-6)
        assert_allclose(kept.detach().numpy(), before.numpy() + 0.9 + 0.1 * 0.01, atol=1e-6)
    assert not any(parameter.requires_grad for parameter in average.network.parameters())


def test_same_seed_trains_identically_and_another_seed_differently(
        dataset: DemonstrationDataset, tmp_path: Path) -> None:
    short = dataclasses.replace(TRAINING, steps=3, batch_size=4, shift_px=2)
    first, again, other = (
        train(dataset, tmp_path / name, dt_s=dataset.dt_s, config=config, progress=False)
        for name, config in (('first', short), ('again', short),
                             ('other', dataclasses.replace(short, seed=4))))

    assert again.losses == first.losses
    assert (again.checkpoint_dir / WEIGHTS_FILENAME).read_bytes() == (
        first.checkpoint_dir / WEIGHTS_FILENAME).read_bytes()
    assert other.losses != first.losses


def test_image_shift_moves_whole_images_and_repeats_edges() -> None:
    images = torch.arange(2 * 2 * 3 * 5 * 5, dtype=torch.int64).reshape(2, 2, 3, 5, 5)
    generator = torch.Generator().manual_seed(0)
    shifted = shift_images(images, 2, generator)
    offsets = torch.randint(-2, 3, (2, 2), generator=torch.Generator().manual_seed(0))
    for sample, (dy, dx) in enumerate(offsets.tolist()):
        rows = np.clip(np.arange(5) + dy, 0, 4)
        cols = np.clip(np.arange(5) + dx, 0, 4)
        assert_array_equal(shifted[sample].numpy(),
                           images[sample].numpy()[:, :, rows][:, :, :, cols])


def test_training_command_and_random_checkpoint_command_write_loadable_checkpoints(
        demos_dir: Path, tmp_path: Path) -> None:
    assert cli_main(['train', '--family', 'diffusion', '--data', str(demos_dir),
                     str(demos_dir), '--out', str(tmp_path / 'cli'), '--steps', '2',
                     '--batch-size', '4', '--no-progress']) == 0
    assert cli_main(['random-checkpoint', '--family', 'diffusion', '--out',
                     str(tmp_path / 'random'), '--seed', '1', '--denoising-steps', '3']) == 0
    assert cli_main(['random-checkpoint', '--family', 'diffusion', '--out',
                     str(tmp_path / 'bad'), '--image-size', '30']) == 1
    for name in ('cli', 'random'):
        assert _load(tmp_path / name).spec.joint_names == DEFAULT_SPEC.joint_names


def test_package_and_config_import_without_torch() -> None:
    probe = ('import json, sys\nimport vla_ros.policies.diffusion.config\n'
             'from vla_ros.policies.diffusion import DiffusionPolicyConfig\n'
             "print(json.dumps([m for m in ('torch', 'transformers') if m in sys.modules]))")
    result = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_package_names_resolve_lazily_to_their_modules() -> None:
    import vla_ros.policies.diffusion as diffusion

    for name in diffusion.__all__:
        assert getattr(diffusion, name).__module__.startswith('vla_ros.policies.diffusion.')
    assert diffusion.DiffusionPolicy is DiffusionPolicy
    with pytest.raises(AttributeError, match='no_such_name'):
        diffusion.no_such_name  # noqa: B018
