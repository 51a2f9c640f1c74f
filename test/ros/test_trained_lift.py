# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The shipped lift policy picks the instructed cube up in closed loop through the ROS stack.

``checkpoints/flow/lift`` (pi0, 1.0 M parameters, pointing pre-trained and co-trained, trained
here on scripted lift demonstrations and on recoveries from missed grasps; docs/results.md)
drives the simulated arm through the sim node, the policy node and its action server with
``config/tabletop_arm_lift.yaml``, on held-out seeds (training used seeds 0-399, 2000-2399
and 4000-4499). Success is the simulator's check: the named cube's centre more than
5 cm above its resting height, so the gripper must close on the right cube and raise it.
Seeds 1010-1015 name all three colours. The policy lifts about four held-out cubes in five,
and which ones varies from run to run with timing, so the test asks for at least one lift of
six, which a policy that never grasps fails; each failure's reason is printed (5/6 lifted
here when this checkpoint was shipped).
"""

from __future__ import annotations

from pathlib import Path

from node_test_constants import fresh_domain_id

from vla_ros.ros.evaluation import evaluate, PolicyUnderTest
from vla_ros.sim.tasks import LIFT_HEIGHT_M, sample_episodes, TaskKind

FIRST_SEED = 1010
EPISODES = 6
EPISODE_S = 15.0  # as vla-ros eval: the policy sometimes lifts on a second try (11.5 s, 1012)


def test_trained_flow_policy_lifts_the_instructed_cubes(repo_root: Path) -> None:
    episodes = sample_episodes(TaskKind.LIFT, EPISODES, seed=FIRST_SEED)
    assert {episode.cube_name for episode in episodes} == {'red_cube', 'green_cube', 'blue_cube'}

    run = evaluate(config_path=repo_root / 'config' / 'tabletop_arm_lift.yaml',
                   episodes=episodes, timeout_s=EPISODE_S,
                   policy=PolicyUnderTest(repo_root / 'checkpoints' / 'flow' / 'lift', 'flow'),
                   domain_id=fresh_domain_id())

    assert not run.callback_errors, '\n'.join(run.callback_errors)
    outcomes = [(record.episode.cube_name, record.failure_reason, record.max_cube_height_m)
                for record in run.records]
    print(f'lift policy: {outcomes}')
    lifted = [record for record in run.records if record.success]
    assert lifted, outcomes  # each lifted in our evaluation; none: broken
    for record in lifted:
        assert record.failure_reason is None
        assert record.max_cube_height_m is not None
        assert record.max_cube_height_m > LIFT_HEIGHT_M
    assert run.latencies_ms
