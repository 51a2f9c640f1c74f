# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""Policies trained here reach the instructed cube in closed loop through the ROS stack.

The shipped reach checkpoints (trained on scripted demonstrations) drive the simulated arm
through the sim node, the policy node and its action server, with the shipped configs, on seeds
the training never saw:

- ``checkpoints/flow/reach`` (pi0, pointing pre-trained; the default of
  ``config/tabletop_arm.yaml``), ``checkpoints/diffusion/reach`` and the discrete-token
  ``checkpoints/fast/reach`` (pi0-FAST, pointing pre-trained and co-trained; with its
  ``config/tabletop_arm_fast.yaml``, whole chunks), all in joint positions: one episode per
  colour, so the instruction decides which cube is the target; a policy that ignored the
  words or the images could not pass all three.
- two policies in end-effector deltas, as OpenVLA's actions, whose chunks all go through the
  action-space layer's IK: ``checkpoints/diffusion/reach_ee`` (rows chained,
  ``config/tabletop_arm_ee.yaml``) and the discrete-token ``checkpoints/fast/reach_ee`` (rows
  from the observed pose, ``config/tabletop_arm_ee_fast.yaml``). They reach the cube in 60 %
  and 80 % of held-out episodes (docs/results.md), and which ones varies with timing; the test
  runs four held-out episodes that each reached in most runs and asks for two.
"""

from __future__ import annotations

from pathlib import Path

from node_test_constants import fresh_domain_id
import pytest

from vla_ros.ros.evaluation import evaluate, PolicyUnderTest
from vla_ros.sim.tasks import sample_episodes, TaskKind

#: Seeds 1000-1002 name the green, red and blue cube (held out from training, seeds < 1000
#: and 2000-2999).
FIRST_SEED = 1000
EPISODE_S = 8.0  # the policy needs about 1 s of simulated time; the margin absorbs load
#: Held-out seeds 1004-1007 (green, green, red, red) for the end-effector policy.
EE_FIRST_SEED = 1004
EE_EPISODE_S = 4.0


@pytest.mark.parametrize(('config', 'family'), [
    ('tabletop_arm.yaml', 'flow'), ('tabletop_arm.yaml', 'diffusion'),
    ('tabletop_arm_fast.yaml', 'fast')])
def test_trained_policy_reaches_each_instructed_cube(config: str, family: str,
                                                     repo_root: Path) -> None:
    episodes = sample_episodes(TaskKind.REACH, 3, seed=FIRST_SEED)
    assert {episode.cube_name for episode in episodes} == {'red_cube', 'green_cube', 'blue_cube'}

    run = evaluate(config_path=repo_root / 'config' / config, episodes=episodes,
                   timeout_s=EPISODE_S,
                   policy=PolicyUnderTest(repo_root / 'checkpoints' / family / 'reach', family),
                   domain_id=fresh_domain_id())

    assert not run.callback_errors, '\n'.join(run.callback_errors)
    for record in run.records:
        assert record.success, (record.episode, record.outcome)
        assert record.time_to_success_s is not None and record.time_to_success_s < EPISODE_S
    assert run.latencies_ms


@pytest.mark.parametrize(('config', 'family'), [
    ('tabletop_arm_ee.yaml', 'diffusion'), ('tabletop_arm_ee_fast.yaml', 'fast')])
def test_end_effector_delta_policy_reaches_cubes_through_the_ik_layer(
        config: str, family: str, repo_root: Path) -> None:
    episodes = sample_episodes(TaskKind.REACH, 4, seed=EE_FIRST_SEED)

    run = evaluate(config_path=repo_root / 'config' / config, episodes=episodes,
                   timeout_s=EE_EPISODE_S,
                   policy=PolicyUnderTest(repo_root / 'checkpoints' / family / 'reach_ee',
                                          family),
                   domain_id=fresh_domain_id())

    assert not run.callback_errors, '\n'.join(run.callback_errors)
    reached = [record.episode.cube_name for record in run.records if record.success]
    print(f'end-effector policy reached {reached} of {[e.cube_name for e in episodes]}')
    assert len(reached) >= 2, reached  # each of these succeeded in most runs; 0 or 1: broken
