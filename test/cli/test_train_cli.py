# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""`vla-ros train` for every family: tiny real runs, defaults, options a family lacks.

Each family trains on simulated demos and on an exported robot dataset, and its checkpoint
loads and infers; unset options print the family's own defaults.

The verb runs in this process (``vla_ros.cli.main.main``, the entry point's function), so
torch is imported once; exit codes and the one-line errors are what a user sees.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vla_ros.cli.main import main
from vla_ros.core.config import CameraConfig, PolicyConfig
from vla_ros.core.errors import PolicyOutputError
from vla_ros.core.policy import Policy
from vla_ros.core.policy_family import PolicyFamily
from vla_ros.core.policy_mapping import parse_inputs, parse_outputs
from vla_ros.core.types import Observation
from vla_ros.data import BagWriter, MessageTypes
from vla_ros.data.lerobot_dataset import LeRobotTrainingDataset
from vla_ros.data.lerobot_export import export_lerobot, ExportOptions
from vla_ros.data.lerobot_layout import ImageStorage
from vla_ros.data.table_files import TableFormat
from vla_ros.policies.base import PolicySpec
from vla_ros.policies.diffusion.train import TrainingConfig as DiffusionConfig
from vla_ros.policies.flow.train import TrainingConfig as FlowConfig
from vla_ros.policies.registry import load_policy
from vla_ros.policies.tokens.teacher_forcing import TrainingConfig as TokensConfig
from vla_ros.sim.demonstrations import DemonstrationDataset, record_demonstrations
from vla_ros.sim.tasks import TaskKind

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
#: 64 px: the token families' tiny model needs square images, a multiple of 16 px.
CAMERAS = (CameraConfig(name='front', topic='camera/front/image_raw', width=64, height=64),)
SIM_JOINTS = ('joint1', 'joint2', 'joint3', 'joint4', 'joint5', 'joint6', 'gripper_joint')
CHUNK = 4
#: A run of two steps of four samples, quiet, with the loss logged every step.
TINY_RUN = ('--steps', '2', '--batch-size', '4', '--chunk-length', str(CHUNK),
            '--log-every', '1', '--no-progress')
#: Extra flags a family needs for these runs (none since fast writes the released layout).
FAMILY_FLAGS = {'flow': (), 'tokens': (), 'fast': (), 'diffusion': ()}
DEFAULTS = {'flow': FlowConfig(), 'tokens': TokensConfig(), 'fast': TokensConfig(),
            'diffusion': DiffusionConfig()}
T0_NS = 1_700_000_000_000_000_000
STEP_NS = 50_000_000  # 20 Hz


@pytest.fixture(scope='module')
def demos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scripted reach episodes (scene seeds 7 and 8; 8 and 7 frames)."""
    out_dir = tmp_path_factory.mktemp('demos')
    record_demonstrations(mjcf_path=SCENE_PATH, task=TaskKind.REACH, count=2, seed=7,
                          cameras=CAMERAS, out_dir=out_dir)
    return out_dir


def _write_bag(path: Path) -> None:
    """One successful 1 s robot episode at 20 Hz: joint states, a 16x16 camera, commands."""
    types = MessageTypes().typestore
    store = types.types
    empty = np.zeros(0)
    joints = ['joint1', 'gripper_joint']

    with BagWriter(path, message_types=MessageTypes()) as writer:
        def write(topic: str, type_name: str, stamp_ns: int, **fields: object) -> None:
            message = store[type_name](**fields)
            writer.write(topic, type_name, stamp_ns,
                         bytes(types.serialize_cdr(message, type_name)))

        header = store['std_msgs/msg/Header'](
            stamp=store['builtin_interfaces/msg/Time'](sec=0, nanosec=0), frame_id='')
        write('/vla/episode/start', 'std_msgs/msg/String', T0_NS, data='reach the cube')
        for step in range(21):
            stamp_ns = T0_NS + step * STEP_NS
            write('/joint_states', 'sensor_msgs/msg/JointState', stamp_ns, header=header,
                  name=joints, position=np.array([0.1 * step, 0.01]), velocity=empty,
                  effort=empty)
            write('/camera/top/image_raw', 'sensor_msgs/msg/Image', stamp_ns, header=header,
                  height=16, width=16, encoding='rgb8', is_bigendian=0, step=48,
                  data=np.full(16 * 48, 10 * step, dtype=np.uint8))
            point = store['trajectory_msgs/msg/JointTrajectoryPoint'](
                positions=np.array([0.1 * step + 0.05, 0.02]), velocities=empty,
                accelerations=empty, effort=empty,
                time_from_start=store['builtin_interfaces/msg/Duration'](sec=0,
                                                                         nanosec=STEP_NS))
            write('/arm_controller/joint_trajectory', 'trajectory_msgs/msg/JointTrajectory',
                  stamp_ns, header=header, joint_names=joints, points=[point])
        write('/vla/episode/stop', 'std_msgs/msg/String', stamp_ns, data='succeeded')


@pytest.fixture(scope='module')
def lerobot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LeRobot dataset exported from one recorded robot episode, 10 fps."""
    root = tmp_path_factory.mktemp('robot')
    _write_bag(root / 'bag')
    export_lerobot([root / 'bag'], root / 'dataset', ExportOptions(
        fps=10, image_storage=ImageStorage.IMAGE, table_format=TableFormat.NPZ))
    return root / 'dataset'


def _load(family: str, checkpoint: Path, *, joints: tuple[str, ...],
          cameras: tuple[str, ...], dt_s: float) -> Policy:
    """The trained checkpoint, loaded as the node loads it.

    fast's LeRobot pi0_fast folder needs the YAML's policy.inputs / policy.outputs (its
    cameras are observation.images.<camera>).
    """
    if family != 'fast':
        return load_policy(family, checkpoint)
    settings = PolicyConfig(
        family=PolicyFamily.FAST, checkpoint=checkpoint,
        inputs=parse_inputs({'cameras': {f'observation.images.{camera}': camera
                                         for camera in cameras}, 'state': list(joints)},
                            joints=joints, cameras=cameras),
        outputs=parse_outputs({'joints': list(joints), 'dt_s': dt_s}, joints=joints))
    return load_policy(family, checkpoint, settings=settings)


def _check_inference(family: str, policy: Policy, observation: Observation, joints: int) -> None:
    """A chunk of CHUNK finite rows, or for fast a PolicyOutputError naming its output.

    Two steps do not teach fast's decoder its 'Action: ... |' text (test_fast_training trains
    one that does); what it decodes instead must be refused, never turned into a chunk.
    """
    if family == 'fast':
        with pytest.raises(PolicyOutputError, match=r'^pi0-FAST output: '):
            policy.infer(observation)
        return
    chunk = policy.infer(observation)
    assert chunk.positions.shape == (CHUNK, joints) and np.all(np.isfinite(chunk.positions))


def _train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `vla-ros train ARGS`; returns the exit code, stdout and stderr."""
    code = main(['train', *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize('family', list(FAMILY_FLAGS))
def test_each_family_trains_on_demos_a_checkpoint_that_loads_and_infers(
        family: str, demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, stdout, stderr = _train(capsys, '--family', family, '--data', str(demos_dir),
                                  '--out', str(out), *TINY_RUN, *FAMILY_FLAGS[family])

    assert code == 0, stderr
    assert f'vla-ros train: {family}: steps 2, batch size 4, ' in stdout
    assert f'{family} on 2 episodes (15 samples)' in stdout
    assert ', 2 steps in ' in stdout and stdout.rstrip().endswith(f'wrote {out.resolve()}')
    dataset = DemonstrationDataset(demos_dir, chunk_length=CHUNK)
    policy = _load(family, out, joints=SIM_JOINTS, cameras=('front',), dt_s=dataset.dt_s)
    assert policy.spec == PolicySpec(joint_names=SIM_JOINTS, camera_names=('front',),
                                     image_height=64, image_width=64, chunk_length=CHUNK,
                                     dt_s=policy.spec.dt_s)
    assert policy.spec.dt_s == pytest.approx(dataset.dt_s)
    _check_inference(family, policy, dataset[3].observation, len(SIM_JOINTS))


@pytest.mark.parametrize('family', list(FAMILY_FLAGS))
def test_each_family_trains_on_an_exported_robot_dataset(
        family: str, lerobot_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, stdout, stderr = _train(capsys, '--family', family, '--data', str(lerobot_dir),
                                  '--out', str(out), *TINY_RUN, *FAMILY_FLAGS[family])

    assert code == 0, stderr
    assert f'{family} on 1 episodes (11 samples)' in stdout
    dataset = LeRobotTrainingDataset(lerobot_dir, chunk_length=CHUNK)
    policy = _load(family, out, joints=('joint1', 'gripper_joint'), cameras=('top',), dt_s=0.1)
    assert policy.spec == PolicySpec(joint_names=('joint1', 'gripper_joint'),
                                     camera_names=('top',), image_height=16, image_width=16,
                                     chunk_length=CHUNK, dt_s=policy.spec.dt_s)
    assert policy.spec.dt_s == pytest.approx(0.1)
    _check_inference(family, policy, dataset[5].observation, 2)


@pytest.mark.parametrize('family', list(DEFAULTS))
def test_unset_options_print_the_family_own_defaults(
        family: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    defaults = DEFAULTS[family]

    code, stdout, stderr = _train(capsys, '--family', family, '--data', str(tmp_path),
                                  '--out', str(tmp_path / 'checkpoint'))

    assert stdout.splitlines() == [
        f'vla-ros train: {family}: steps {defaults.steps}, batch size {defaults.batch_size}, '
        f'learning rate {defaults.learning_rate:g}, seed 0, chunk length 10, log every 100, '
        'threads 1, progress bar on']
    assert code == 1  # the settings come first; the empty directory is refused after them
    assert stderr == f'vla-ros train: {tmp_path}: no episode_*.npz files\n'


@pytest.mark.parametrize('family', ['flow', 'tokens', 'diffusion'])
def test_an_option_the_family_lacks_is_refused_in_one_line(
        family: str, demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, stdout, stderr = _train(capsys, '--family', family, '--data', str(demos_dir),
                                  '--out', str(out), *TINY_RUN, '--length-constrained')

    assert code == 1 and stdout == ''
    assert stderr == (f'vla-ros train: --length-constrained: the {family} family has no such '
                      'setting (families that take it: fast)\n')
    assert not out.exists()


@pytest.mark.parametrize('family', list(FAMILY_FLAGS))
def test_a_value_the_family_config_refuses_names_the_field(
        family: str, demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = _train(capsys, '--family', family, '--data', str(demos_dir),
                             '--out', str(tmp_path / 'checkpoint'), '--batch-size', '0')

    assert code == 1
    assert stderr == ('vla-ros train: TrainingConfig.batch_size: 0, expected an integer >= 1\n')


def test_several_data_directories_are_read_as_one(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, stdout, stderr = _train(capsys, '--family', 'diffusion', '--data', str(demos_dir),
                                  str(demos_dir), '--out', str(out), *TINY_RUN)

    assert code == 0, stderr
    assert f'diffusion on 4 episodes (30 samples) from {demos_dir}, {demos_dir}' in stdout


def test_flow_fine_tunes_a_checkpoint_with_init(demos_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / 'first', tmp_path / 'second'
    code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                             '--out', str(first), *TINY_RUN, *FAMILY_FLAGS['flow'])
    assert code == 0, stderr

    code, stdout, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                                  '--out', str(second), *TINY_RUN, *FAMILY_FLAGS['flow'],
                                  '--init', str(first), '--learning-rate', '1e-9')

    assert code == 0, stderr
    assert stdout.rstrip().endswith(f'wrote {second.resolve()}')
    dataset = DemonstrationDataset(demos_dir, chunk_length=CHUNK)
    started, tuned = (_load('flow', out, joints=SIM_JOINTS, cameras=('front',),
                            dt_s=dataset.dt_s) for out in (first, second))
    weights = tuned.model.state_dict()  # type: ignore[attr-defined]
    for name, tensor in started.model.state_dict().items():  # type: ignore[attr-defined]
        assert torch.allclose(weights[name], tensor, atol=1e-6), name


def test_flow_width_flags_size_the_model_and_init_needs_the_same(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wide, again = tmp_path / 'wide', tmp_path / 'again'
    code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                             '--out', str(wide), *TINY_RUN, '--width', '96',
                             '--expert-width', '48')
    assert code == 0, stderr
    config = json.loads((wide / 'config.json').read_text())
    assert config['vlm_config']['text_config']['hidden_size'] == 96
    assert config['dit_config']['hidden_size'] == 48

    code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                             '--out', str(again), *TINY_RUN, '--init', str(wide),
                             '--width', '96', '--expert-width', '48')
    assert code == 0, stderr
    code, stdout, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                                  '--out', str(tmp_path / 'default'), *TINY_RUN,
                                  '--init', str(wide))
    assert (code, stdout.count('wrote')) == (1, 0) and 'another model size?' in stderr
    code, _, stderr = _train(capsys, '--family', 'tokens', '--data', str(demos_dir),
                             '--out', str(tmp_path / 'tokens'), *TINY_RUN, '--width', '96')
    assert code == 1 and '--width: the tokens family has no such setting' in stderr


def test_flow_patch_flag_sets_the_vision_patches_and_refuses_one_that_does_not_tile(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patches = {}
    for name, extra in (('default', ()), ('fine', ('--patch', '8'))):
        code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                                 '--out', str(tmp_path / name), *TINY_RUN, *extra)
        assert code == 0, stderr
        config = json.loads((tmp_path / name / 'config.json').read_text())
        patches[name] = config['vlm_config']['vision_config']['patch_size']
        policy = load_policy('flow', tmp_path / name)
        _check_inference('flow', policy, Observation(
            images={'front': np.zeros((64, 64, 3), dtype=np.uint8)}, joint_names=SIM_JOINTS,
            joint_positions=np.zeros(len(SIM_JOINTS)), instruction='touch the red cube'), 7)
    # 64 px images: 16 px patches by default (4 x 4 tokens), 8 px ones on request (8 x 8).
    assert patches == {'default': 16, 'fine': 8}

    code, stdout, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                                  '--out', str(tmp_path / 'odd'), *TINY_RUN, '--patch', '5')
    assert (code, stdout.count('wrote')) == (1, 0)
    assert stderr.strip().splitlines()[-1] == (
        'vla-ros train: spec.image_height: 64, expected a multiple of 5 pixels, the patch size '
        '(--patch); choose a divisor of 64')
    code, _, stderr = _train(capsys, '--family', 'tokens', '--data', str(demos_dir),
                             '--out', str(tmp_path / 'tokens'), *TINY_RUN, '--patch', '8')
    assert code == 1 and '--patch: the tokens family has no such setting' in stderr


@pytest.fixture(scope='module')
def pointing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """210 front-camera pointing scenes written by `vla-ros pointing`."""
    folder = tmp_path_factory.mktemp('pointing')
    config, scenes = folder / 'config' / 'one_camera.yaml', folder / 'scenes.npz'
    config.parent.mkdir()
    config.write_text(_one_camera_config())
    code = main(['pointing', '--config', str(config), '--scenes', '210', '--seed', '9',
                 '--out', str(scenes)])
    assert code == 0
    return scenes


def test_the_pointing_verb_writes_a_set_of_the_config_cameras(pointing_file: Path) -> None:
    from vla_ros.core.pointing_set import PointingSet

    loaded = PointingSet.load(pointing_file)

    assert loaded.images.shape == (210, 1, 64, 64, 3) and loaded.camera_names == ('front',)
    assert loaded.object_names == ('red_cube', 'green_cube', 'blue_cube')


@pytest.mark.parametrize('family', ['flow', 'tokens', 'fast'])
def test_a_family_pretrains_on_pointing_scenes_then_trains(
        family: str, pointing_file: Path, demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    scenes = pointing_file
    out = tmp_path / 'checkpoint'

    code, stdout, stderr = _train(capsys, '--family', family, '--data', str(demos_dir),
                                  '--out', str(out), *TINY_RUN, *FAMILY_FLAGS[family],
                                  '--pointing', str(scenes), '--pointing-steps', '3',
                                  '--pointing-weight', '0.5')

    assert code == 0, stderr
    assert f'vla-ros train: pointing pre-training on {scenes}: held-out accuracy ' in stdout
    dataset = DemonstrationDataset(demos_dir, chunk_length=CHUNK)
    policy = _load(family, out, joints=SIM_JOINTS, cameras=('front',), dt_s=dataset.dt_s)
    _check_inference(family, policy, dataset[0].observation, len(SIM_JOINTS))


@pytest.mark.parametrize(('flags', 'message'), [
    (('--family', 'diffusion', '--pointing', 'scenes.npz'),
     '--pointing: the diffusion family has no such setting (families that take it: flow, '
     'tokens, fast)'),
    (('--family', 'flow', '--pointing-steps', '5'),
     '--pointing-steps: without --pointing there is no pre-training'),
    (('--family', 'diffusion', '--action-space', 'delta'),
     '--action-space: the diffusion family has no such setting (families that take it: '
     'tokens, fast)'),
    (('--family', 'diffusion', '--pointing-weight', '1'),
     '--pointing-weight: the diffusion family has no such setting (families that take it: '
     'flow, tokens, fast)'),
    (('--family', 'fast', '--pointing-weight', '1'),
     '--pointing-weight: without --pointing there is no pointing loss'),
    (('--family', 'tokens', '--init', 'checkpoints/flow/reach'),
     '--init: the tokens family has no such setting (families that take it: flow)'),
    (('--family', 'fast', '--pointing-readout', 'attended'),
     '--pointing-readout: the fast family has no such setting (families that take it: flow)'),
    (('--family', 'flow', '--pointing-readout', 'attended'),
     '--pointing-readout: without --pointing there is no pointing readout'),
    (('--family', 'tokens', '--pointed-state'),
     '--pointed-state: the tokens family has no such setting (families that take it: flow)'),
    (('--family', 'flow', '--pointed-state'),
     '--pointed-state: without --pointing there is no pointing head to fill the state'),
    (('--family', 'flow', '--pointing', 'scenes.npz', '--pointed-state'),
     'TrainingConfig.pointed_state: needs pointing co-training (pointing_weight > 0), or the '
     'head falls behind the VLM'),
    (('--family', 'flow', '--pointing', 'scenes.npz', '--pointing-weight', '1', '--point-at',
      'the yellow square'),
     'TrainingConfig.point_at: only with pointed_state'),
    (('--family', 'fast', '--point-at', 'the yellow square'),
     '--point-at: the fast family has no such setting (families that take it: flow)'),
], ids=['other-family', 'steps-without-scenes', 'action-space-other-family',
        'weight-other-family', 'weight-without-scenes', 'init-other-family',
        'readout-other-family', 'readout-without-scenes', 'pointed-other-family',
        'pointed-without-scenes', 'pointed-without-cotraining', 'point-at-alone',
        'point-at-other-family'])
def test_pointing_options_out_of_place_are_refused_in_one_line(
        flags: tuple[str, ...], message: str, demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = _train(capsys, *flags, '--data', str(demos_dir),
                                  '--out', str(tmp_path / 'checkpoint'), *TINY_RUN)

    assert (code, stdout, stderr) == (1, '', f'vla-ros train: {message}\n')


@pytest.mark.parametrize('family', ['tokens'])
@pytest.mark.parametrize('space', ['absolute', 'delta'])
def test_a_token_family_trains_in_the_chosen_action_space(
        family: str, space: str, demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from vla_ros.policies.checkpoint_json import read_config_json
    from vla_ros.policies.tokens.config import ActionSpace

    out = tmp_path / 'checkpoint'

    code, _, stderr = _train(capsys, '--family', family, '--data', str(demos_dir), '--out',
                             str(out), *TINY_RUN, *FAMILY_FLAGS[family], '--action-space', space)

    assert code == 0, stderr
    stored = read_config_json(out / 'vla_ros_policy.json')['normalization']['action_space']
    assert ActionSpace(stored) is ActionSpace(space)


@pytest.mark.parametrize('flag', [('--action-space', 'delta'), ('--length-constrained',)],
                         ids=['delta', 'length-constrained'])
def test_fast_refuses_what_the_released_layout_cannot_hold_in_one_line(
        flag: tuple[str, ...], demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, _, stderr = _train(capsys, '--family', 'fast', '--data', str(demos_dir), '--out',
                             str(out), *TINY_RUN, *flag)

    assert code == 1 and not out.exists()
    assert stderr == ('vla-ros train: fast training writes the released pi0_fast layout, which '
                      'decodes freely and predicts absolute actions: drop --length-constrained '
                      'and use --action-space absolute\n')


def test_ee_deltas_train_a_token_family_on_end_effector_moves(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vla_ros.policies.tokens.config import ActionSpace, TokensPolicyConfig

    out = tmp_path / 'checkpoint'

    code, stdout, stderr = _train(capsys, '--family', 'tokens', '--data', str(demos_dir),
                                  '--out', str(out), *TINY_RUN, '--ee-deltas')

    assert code == 0, stderr
    assert 'samples) from ' in stdout and ', as end-effector moves from the observation' in stdout
    normalization = TokensPolicyConfig.load(out).normalization
    assert normalization.action_space is ActionSpace.ABSOLUTE  # rows taken as they are
    # Column 6 is the gripper normalised to 0 (closed) .. 1 (open), not its 0.04 m joint range;
    # columns 0-2 are tool moves in metres, which stay within the arm's reach.
    assert normalization.actions.q99[6] > 0.5
    assert max(abs(value) for value in (*normalization.actions.q01[:3],
                                        *normalization.actions.q99[:3])) < 0.5


def test_ee_deltas_refuse_joint_delta_rows_in_one_line(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = _train(capsys, '--family', 'fast', '--data', str(demos_dir), '--out',
                             str(tmp_path / 'checkpoint'), *TINY_RUN, '--ee-deltas',
                             '--action-space', 'delta')

    assert code == 1
    assert stderr.startswith('vla-ros train: --ee-deltas with --action-space delta: ')
    assert stderr.count('\n') == 1


def test_ee_deltas_refuse_a_dataset_of_another_arm_in_one_line(
        lerobot_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, _, stderr = _train(capsys, '--family', 'diffusion', '--data', str(lerobot_dir),
                             '--out', str(out), *TINY_RUN, '--ee-deltas')

    assert code == 1 and not out.exists()
    assert stderr == ("vla-ros train: training sample 0: joints ['joint1', 'gripper_joint'], "
                      "expected the tabletop arm's ['joint1', 'joint2', 'joint3', 'joint4', "
                      "'joint5', 'joint6', 'gripper_joint']\n")


def test_joint_deltas_train_flow_on_offsets_and_the_checkpoint_says_so(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vla_ros.core.training_samples import ObservedJointDeltas, state_and_action_rows
    from vla_ros.policies.flow.config import FlowPolicyConfig

    out = tmp_path / 'checkpoint'

    code, stdout, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                                  '--out', str(out), *TINY_RUN, '--joint-deltas',
                                  '--min-std', '0.02')

    assert code == 0, stderr
    assert 'samples) from ' in stdout and ', as offsets from the observed joints' in stdout
    assert json.loads((out / 'vla_ros_policy.json').read_text())['action_rows'] == 'joint_delta'
    stored = FlowPolicyConfig.load(out)
    assert stored.joint_deltas
    assert load_policy('flow', out).action_rows_from_observation  # type: ignore[attr-defined]
    # The statistics are those of every real row of the offsets, floored at 0.02.
    dataset = DemonstrationDataset(demos_dir, chunk_length=CHUNK)
    _, rows = state_and_action_rows(ObservedJointDeltas(dataset), SIM_JOINTS, every_row=True)
    np.testing.assert_allclose(stored.normalization.actions.mean, rows.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(stored.normalization.actions.std,
                               np.maximum(rows.std(axis=0), 0.02), rtol=1e-6)
    assert min(stored.normalization.actions.std) == 0.02  # the gripper never moves here
    assert min(stored.normalization.state.std) >= 0.02


def test_a_fine_tune_keeps_the_rows_of_its_init_checkpoint(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    offsets, absolute = tmp_path / 'offsets', tmp_path / 'absolute'
    for out, flags in ((offsets, ('--joint-deltas',)), (absolute, ())):
        code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                                 '--out', str(out), *TINY_RUN, *flags)
        assert code == 0, stderr

    code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir), '--out',
                             str(tmp_path / 'tuned'), *TINY_RUN, '--init', str(offsets))
    assert code == 1 and not (tmp_path / 'tuned').exists()
    assert stderr.endswith(f'\nvla-ros train: --init {offsets}: its chunk rows are offsets '
                           'from the observed joints, this run trains absolute targets; add '
                           '--joint-deltas\n')  # after the checkpoint's loading bar
    code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir), '--out',
                             str(tmp_path / 'tuned'), *TINY_RUN, '--init', str(absolute),
                             '--joint-deltas')
    assert code == 1 and stderr.endswith('this run trains offsets from the observed joints; '
                                         'drop --joint-deltas\n')
    code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir), '--out',
                             str(tmp_path / 'tuned'), *TINY_RUN, '--init', str(offsets),
                             '--joint-deltas')
    assert code == 0, stderr


def test_an_absolute_flow_checkpoint_stores_no_action_rows(
        demos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, _, stderr = _train(capsys, '--family', 'flow', '--data', str(demos_dir),
                             '--out', str(out), *TINY_RUN)

    assert code == 0, stderr
    assert 'action_rows' not in json.loads((out / 'vla_ros_policy.json').read_text())
    assert not load_policy('flow', out).action_rows_from_observation  # type: ignore[attr-defined]


@pytest.mark.parametrize(('flags', 'message'), [
    (('--family', 'tokens', '--joint-deltas'),
     '--joint-deltas: the tokens family has no such setting (families that take it: flow)'),
    (('--family', 'diffusion', '--min-std', '0.1'),
     '--min-std: the diffusion family has no such setting (families that take it: flow)'),
    (('--family', 'flow', '--joint-deltas', '--ee-deltas'),
     '--joint-deltas with --ee-deltas: choose one action space'),
    (('--family', 'flow', '--min-std', '0'),
     'TrainingConfig.min_std: 0.0, expected a number > 0'),
], ids=['tokens', 'diffusion', 'ee-deltas', 'zero-floor'])
def test_joint_deltas_and_the_floor_out_of_place_are_refused_in_one_line(
        flags: tuple[str, ...], message: str, demos_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / 'checkpoint'

    code, _, stderr = _train(capsys, '--data', str(demos_dir), '--out', str(out), *TINY_RUN,
                             *flags)

    assert code == 1 and not out.exists()
    assert stderr == f'vla-ros train: {message}\n'


def _one_camera_config() -> str:
    """The default tabletop config with only its front camera (the demos' camera)."""
    from vla_ros.cli.config_path import default_config_path

    default = default_config_path()
    root = default.resolve().parent.parent
    text = default.read_text().replace(' urdf/', f' {root}/urdf/').replace(
        ' checkpoints/', f' {root}/checkpoints/')
    start = text.index('    wrist: {')
    return text[:start] + text[text.index('\n', start) + 1:]


@pytest.mark.parametrize(('verb', 'needed_for', 'args'), [
    ('demos', 'demonstrations', ('--task', 'reach', '--episodes', '1')),
    ('pointing', 'pointing scenes', ('--scenes', '1')),
], ids=['demos', 'pointing'])
def test_sim_verbs_refuse_a_config_without_a_sim_section_in_one_line(
        verb: str, needed_for: str, args: tuple[str, ...], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / 'config' / 'robot.yaml'
    config.parent.mkdir()
    text = _one_camera_config()
    config.write_text(text[:text.index('\nsim:')] + '\n')

    code = main([verb, '--config', str(config), *args, '--out', str(tmp_path / 'out.npz')])

    assert code == 1
    assert capsys.readouterr().err == (
        f'vla-ros {verb}: the config has no sim section; {needed_for} need sim.mjcf\n')
