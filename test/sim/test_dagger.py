# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""DAgger on the tabletop arm: a driver moves the arm, the expert labels what it finds.

MuJoCo in process, no ROS. The drivers here are small functions of the expert's own targets
(pass them through, let go of the grasp once) so that what the expert must do next is known; the
recorder's path with a real policy is covered with the shipped checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
import pytest

from vla_ros.core.config import load_config
from vla_ros.core.errors import ConfigError
from vla_ros.policies.registry import load_policy
from vla_ros.sim import TabletopSim
from vla_ros.sim.demonstrations import (
    DemonstrationDataset,
    record_episode,
    save_demonstration,
)
from vla_ros.sim.expert import (
    ExpertPhase,
    GRIPPER_OPEN_M,
    max_steps_for,
    run_expert_episode,
    ScriptedExpert,
)
from vla_ros.sim.tasks import make_episode, TaskKind

ROOT = Path(__file__).resolve().parents[2]
SCENE_PATH = ROOT / 'urdf' / 'tabletop_scene.xml'


@pytest.fixture(scope='module')
def sim() -> Iterator[TabletopSim]:
    with TabletopSim(SCENE_PATH) as scene:
        yield scene


Drive = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _run(sim: TabletopSim, seed: int, drive: Drive | None = None, max_steps: int | None = None,
         phases: list[ExpertPhase] | None = None
         ) -> tuple[list[NDArray[np.float64]], list[ExpertPhase], bool]:
    episode = make_episode(TaskKind.LIFT, seed)
    expert = ScriptedExpert(SCENE_PATH, episode)
    labels: list[NDArray[np.float64]] = []
    phases = [] if phases is None else phases

    def keep(scene: object, measured: NDArray[np.float64], action: NDArray[np.float64]) -> None:
        labels.append(action)
        phases.append(expert.phase)

    result = run_expert_episode(sim, expert, episode,
                                max_steps=max_steps or max_steps_for(TaskKind.LIFT),
                                on_step=keep, drive=drive)
    return labels, phases, result.success


def test_a_driver_that_does_what_the_expert_says_changes_nothing(sim: TabletopSim) -> None:
    alone, _, succeeded = _run(sim, 5)
    driven, _, driven_succeeded = _run(sim, 5, drive=lambda action: action)

    assert succeeded and driven_succeeded
    np.testing.assert_allclose(np.stack(driven), np.stack(alone), atol=1e-9)


@pytest.mark.parametrize('seed', [5, 6])
def test_a_grasp_the_driver_lets_go_sends_the_expert_back_to_grasp_again(sim: TabletopSim,
                                                                         seed: int) -> None:
    phases: list[ExpertPhase] = []
    opened_for = 0

    def let_go(action: NDArray[np.float64]) -> NDArray[np.float64]:
        """Pass the expert's targets, but hold the gripper open for 6 steps as the lift begins."""
        nonlocal opened_for
        if opened_for == 0 and phases[-1] is ExpertPhase.LIFT:
            opened_for = 1
        if 0 < opened_for <= 6:
            opened_for += 1
            return np.append(action[:6], GRIPPER_OPEN_M)
        return action

    labels, _, succeeded = _run(sim, seed, drive=let_go, max_steps=150, phases=phases)

    assert opened_for == 7
    lifted = phases.index(ExpertPhase.LIFT)
    restarted = phases.index(ExpertPhase.APPROACH, lifted)  # the cube was not in the hand
    assert labels[restarted][6] > labels[restarted - 1][6]  # the label opens the gripper
    assert ExpertPhase.LIFT in phases[restarted:]  # and grasps it again
    assert succeeded


def test_a_driven_recording_is_marked_and_kept_whatever_the_outcome(sim: TabletopSim,
                                                                    tmp_path: Path) -> None:
    policy = load_policy('flow', ROOT / 'checkpoints' / 'flow' / 'lift', threads=1)
    cameras = load_config(ROOT / 'config' / 'tabletop_arm.yaml').embodiment.cameras
    demo = record_episode(sim, SCENE_PATH, make_episode(TaskKind.LIFT, 1010), cameras,
                          driver=policy, horizon=5)

    assert demo.relabelled and demo.length > 5
    save_demonstration(demo, tmp_path / 'episode_000000.npz')
    assert len(DemonstrationDataset(tmp_path, chunk_length=10)) == demo.length
    with pytest.raises(ConfigError, match='not from a missed grasp'):
        record_episode(sim, SCENE_PATH, make_episode(TaskKind.LIFT, 1010), cameras,
                       missed_grasp=True, driver=policy)
    with pytest.raises(ConfigError, match='the driver reads cameras'):
        record_episode(sim, SCENE_PATH, make_episode(TaskKind.LIFT, 1010), cameras[:1],
                       driver=policy)
