# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""TabletopSim on the real scene file: reset, servo tracking, stepping, rendering, grasping."""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import itertools
from pathlib import Path

import mujoco
import numpy as np
from numpy.testing import assert_allclose
from numpy.typing import NDArray
import pytest

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError, InputError
from vla_ros.core.types import JointTrajectoryCommand
from vla_ros.sim import ARM_JOINT_NAMES, CUBE_NAMES, MujocoSim, TabletopSim, TrajectoryFollower

SCENE_PATH = Path(__file__).resolve().parents[2] / 'urdf' / 'tabletop_scene.xml'
CONFIG_PATH = Path(__file__).resolve().parents[2] / 'config' / 'tabletop_arm.yaml'
HOME = np.array([0.0, 0.4, 1.7, 0.0, 1.04, 0.0, 0.04])


@pytest.fixture(scope='module')
def shared_sim() -> Iterator[TabletopSim]:
    with TabletopSim(SCENE_PATH, seed=0) as sim:
        yield sim


@pytest.fixture
def sim(shared_sim: TabletopSim) -> TabletopSim:
    shared_sim.reset(0)
    return shared_sim


@pytest.mark.parametrize(('scene_xml', 'message'), [
    (None, r"^sim\.mjcf '.*scene\.xml': cannot load"),
    ('<mujoco><worldbody><body name="b"><joint name="joint1"/><geom size="0.1"/></body>'
     '</worldbody></mujoco>', r"^sim\.joints\.joint2: no MJCF joint 'joint2' in '.*scene\.xml'$"),
], ids=['missing_file', 'missing_joint'])
def test_unusable_scene_files_are_rejected(tmp_path: Path, scene_xml: str | None,
                                          message: str) -> None:
    path = tmp_path / 'scene.xml'
    if scene_xml is not None:
        path.write_text(scene_xml)
    tabletop = load_config(CONFIG_PATH).sim
    assert tabletop is not None
    with pytest.raises(ConfigError, match=message):
        MujocoSim(dataclasses.replace(tabletop, mjcf=path))


def test_tabletop_sim_needs_the_config_beside_its_scene(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='cannot read config'):
        TabletopSim(tmp_path / 'urdf' / 'tabletop_scene.xml')


def test_reset_puts_the_arm_home_at_time_zero(sim: TabletopSim) -> None:
    sim.set_position_targets(HOME + 0.2 * (HOME == 0.0))
    sim.step(0.5)
    sim.reset(1)
    assert sim.time_s == 0.0
    assert sim.joint_names == (*ARM_JOINT_NAMES, 'gripper_joint')
    assert_allclose(sim.joint_positions(), HOME)
    assert_allclose(sim.position_targets(), HOME)
    assert_allclose(sim.joint_velocities(), np.zeros(7))
    ee_m = sim.end_effector_position()
    assert 0.25 < ee_m[0] < 0.4 and abs(ee_m[1]) < 1e-9 and 0.1 < ee_m[2] < 0.16


def test_reset_is_deterministic_per_seed(sim: TabletopSim) -> None:
    layouts: dict[int, list[NDArray[np.float64]]] = {}
    for seed in (3, 4, 3):
        sim.reset(seed)
        layouts.setdefault(seed, []).append(np.stack(list(sim.object_positions().values())))
    assert_allclose(layouts[3][0], layouts[3][1])
    assert np.abs(layouts[3][0] - layouts[4][0]).max() > 0.01


def test_reset_without_seed_continues_the_seeded_sequence() -> None:
    sequences = []
    for _ in range(2):
        with TabletopSim(SCENE_PATH, seed=7) as sim:
            first = sim.object_positions()['red_cube']
            sim.reset()
            sequences.append((first, sim.object_positions()['red_cube']))
    assert_allclose(sequences[0][0], sequences[1][0])
    assert_allclose(sequences[0][1], sequences[1][1])
    assert np.abs(sequences[0][0] - sequences[0][1]).max() > 1e-3


def test_cubes_rest_on_the_table_apart_and_within_reach(sim: TabletopSim) -> None:
    for seed in range(25):
        sim.reset(seed)
        sim.step(0.2)
        positions = sim.object_positions()
        assert tuple(positions) == CUBE_NAMES
        for name, xyz in positions.items():
            assert 0.24 < xyz[0] < 0.43 and abs(xyz[1]) < 0.17, (seed, name, xyz)
            assert abs(xyz[2] - 0.02) < 1e-3, (seed, name, xyz)  # resting on the table top
        for (name_a, a), (name_b, b) in itertools.combinations(positions.items(), 2):
            assert np.linalg.norm(a[:2] - b[:2]) >= 0.079, (seed, name_a, name_b)


def test_joints_converge_to_position_targets(sim: TabletopSim) -> None:
    target = np.array([0.6, 0.2, 1.2, -0.5, 1.3, 0.8, 0.01])
    sim.set_position_targets(target)
    sim.step(1.5)
    assert_allclose(sim.joint_positions(), target, atol=2e-3)
    assert_allclose(sim.joint_velocities(), np.zeros(7), atol=1e-2)


def test_position_targets_are_clipped_to_the_joint_limits(sim: TabletopSim) -> None:
    lower, upper = sim.joint_limits()
    assert_allclose(lower, [-2.9, -1.75, -2.6, -2.9, -2.0, -2.9, 0.0])
    assert_allclose(upper, [2.9, 1.75, 2.6, 2.9, 2.0, 2.9, 0.04])
    sim.set_position_targets(upper + 1.0)
    assert_allclose(sim.position_targets(), upper)
    sim.set_position_targets(lower - 1.0)
    assert_allclose(sim.position_targets(), lower)


@pytest.mark.parametrize('targets', [np.zeros(6), np.full(7, np.nan), np.full(7, np.inf)],
                         ids=['wrong_size', 'nan', 'inf'])
def test_bad_position_targets_are_rejected(sim: TabletopSim, targets: NDArray[np.float64]) -> None:
    with pytest.raises(InputError, match='position targets'):
        sim.set_position_targets(targets)
    assert_allclose(sim.position_targets(), HOME)


def test_step_takes_whole_time_steps_and_carries_the_remainder(sim: TabletopSim) -> None:
    assert sim.timestep_s == 0.002
    assert sim.step(0.005) == 2
    assert sim.step(0.005) == 3
    assert sim.time_s == pytest.approx(0.010)
    assert sim.step(0.0) == 0
    with pytest.raises(InputError, match='duration_s'):
        sim.step(-0.1)


def project_to_pixel(world_m: NDArray[np.float64], camera: str, width: int,
                     height: int) -> tuple[int, int]:
    """(row, column) where a fixed camera of the scene sees a world point (pinhole model)."""
    model = mujoco.MjModel.from_xml_path(str(SCENE_PATH))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    cam = model.camera(camera).id
    in_camera = data.cam_xmat[cam].reshape(3, 3).T @ (world_m - data.cam_xpos[cam])
    focal_px = height / 2 / np.tan(np.deg2rad(model.cam_fovy[cam]) / 2)
    column = width / 2 + focal_px * in_camera[0] / -in_camera[2]
    row = height / 2 - focal_px * in_camera[1] / -in_camera[2]
    return int(round(row)), int(round(column))


def test_front_camera_shows_each_cube_in_its_colour(sim: TabletopSim) -> None:
    width, height = 320, 240
    image = sim.render('front', width, height)
    assert image.shape == (height, width, 3) and image.dtype == np.uint8
    assert image.reshape(-1, 3).std(axis=0).min() > 20.0
    for channel, name in enumerate(CUBE_NAMES):  # red, green, blue
        row, column = project_to_pixel(sim.object_positions()[name], 'front', width, height)
        patch = image[row - 1:row + 2, column - 1:column + 2].reshape(-1, 3).astype(int)
        others = np.delete(patch, channel, axis=1)
        assert patch[:, channel].min() > 100, (name, patch)
        assert np.all(patch[:, channel] > 2 * others.max(axis=1)), (name, patch)


def test_wrist_camera_renders_at_full_size(sim: TabletopSim) -> None:
    image = sim.render('wrist', 640, 480)
    assert image.shape == (480, 640, 3)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 100


@pytest.mark.parametrize(('camera', 'width', 'height', 'message'), [
    ('side', 64, 48, "camera 'side': unknown"),
    ('front', 1280, 960, 'cannot render 1280x960'),
], ids=['unknown_camera', 'too_large'])
def test_bad_render_requests_are_rejected(sim: TabletopSim, camera: str, width: int,
                                          height: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        sim.render(camera, width, height)


def solve_grasp_pose(target_m: NDArray[np.float64], yaw_rad: float,
                     start: NDArray[np.float64]) -> NDArray[np.float64]:
    """Arm joints putting ee_site at ``target_m``, fingers down, closing across the cube faces."""
    model = mujoco.MjModel.from_xml_path(str(SCENE_PATH))
    data = mujoco.MjData(model)
    qpos_index = [model.joint(name).qposadr[0] for name in ARM_JOINT_NAMES]
    dof_index = [model.joint(name).dofadr[0] for name in ARM_JOINT_NAMES]
    site = model.site('ee_site').id
    data.qpos[qpos_index] = start
    want_z, want_y = np.array([0.0, 0.0, -1.0]), np.array([-np.sin(yaw_rad), np.cos(yaw_rad), 0])
    for _ in range(100):
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        jac_pos, jac_rot = np.zeros((3, model.nv)), np.zeros((3, model.nv))
        mujoco.mj_jacSite(model, data, jac_pos, jac_rot, site)
        frame = data.site_xmat[site].reshape(3, 3)
        error = np.concatenate([target_m - data.site_xpos[site],
                                np.cross(frame[:, 2], want_z) + np.cross(frame[:, 1], want_y)])
        jac = np.vstack([jac_pos, jac_rot])[:, dof_index]
        data.qpos[qpos_index] += jac.T @ np.linalg.solve(jac @ jac.T + 1e-4 * np.eye(6), error)
    assert np.linalg.norm(target_m - data.site_xpos[site]) < 1e-4
    return np.array(data.qpos[qpos_index], dtype=np.float64)


def test_follower_drives_the_arm_to_pick_up_a_cube(sim: TabletopSim) -> None:
    follower = TrajectoryFollower(sim.joint_names, sim.joint_positions())
    cube_m = sim.object_positions()['red_cube']
    quat = sim.object_orientations()['red_cube']
    yaw_rad = 2 * np.arctan2(quat[3], quat[0])
    above = solve_grasp_pose(cube_m + [0, 0, 0.1], yaw_rad, HOME[:6])
    at = solve_grasp_pose(cube_m, yaw_rad, above)
    for arm, gripper_m, duration_s in [(above, 0.04, 1.0), (at, 0.04, 0.8), (at, 0.0, 0.5),
                                       (above, 0.0, 1.0)]:
        goal = JointTrajectoryCommand(joint_names=sim.joint_names,
                                      times_from_start_s=np.array([duration_s]),
                                      positions=np.append(arm, gripper_m)[np.newaxis, :])
        follower.accept(goal, now_s=sim.time_s)
        while not follower.is_done(sim.time_s - 0.2):  # 0.2 s to settle
            sim.set_position_targets(follower.sample(sim.time_s))
            sim.step(0.01)
    lifted_m = sim.object_positions()['red_cube']
    assert lifted_m[2] > 0.1
    assert_allclose(lifted_m, sim.end_effector_position(), atol=0.015)
    assert 0.015 < sim.joint_positions()[6] < 0.021  # fingers stopped by the 4 cm cube
