# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 The vla_ros authors
"""The shipped G1 hand-reach policy touches the instructed cube through the ROS stack.

``checkpoints/flow/g1_reach`` (pi0, trained here on scripted hand-reach demonstrations with
pointing co-training, then fine-tuned on demonstrations recorded with action noise;
docs/results.md, "Unitree G1") drives the simulated humanoid through the sim node, the policy
node and its action server with ``config/g1_reach.yaml`` (64x64 cameras, five commanded
controllers, the legs held), on held-out seeds (training used seeds 0-999, 2000-2999,
5000-5499 and 6000-6499). Success is the simulator's check: the named hand's frame within 3 cm
of the named cube's top. The policy succeeds in about half of held-out episodes
(docs/results.md).
"""

from __future__ import annotations

from pathlib import Path

from node_test_constants import fresh_domain_id

from vla_ros.ros.evaluation import evaluate, PolicyUnderTest
from vla_ros.sim.humanoid_tasks import sample_hand_reach_episodes

#: Held-out seeds 1012-1015 (red, blue, red, blue; left, right, left, left hand): 1012 and 1013
#: succeeded in one 20-episode evaluation of the shipped policy through ROS, 1013 alone in
#: another (the previous, smaller policy: 1013 and 1014). Which episodes succeed changes from
#: run to run (the observations' timing against the simulator changes the chunks), so a single
#: seed is not a stable test: with the previous policy, 1013 and 1019, each alone, failed in
#: some of five runs. The test asks for one success in four; a policy that ignored the scene or
#: the hand would get none.
FIRST_SEED = 1012
EPISODES = 4
#: A success takes about 1-5 s of simulated time; the margin absorbs load.
EPISODE_S = 10.0


def test_trained_flow_policy_touches_the_instructed_cube_with_the_named_hand(
        repo_root: Path) -> None:
    episodes = sample_hand_reach_episodes(EPISODES, seed=FIRST_SEED)

    run = evaluate(config_path=repo_root / 'config' / 'g1_reach.yaml', episodes=episodes,
                   timeout_s=EPISODE_S,
                   policy=PolicyUnderTest(repo_root / 'checkpoints' / 'flow' / 'g1_reach',
                                          'flow'),
                   domain_id=fresh_domain_id())

    assert not run.callback_errors, '\n'.join(run.callback_errors)
    reached = [record.episode.seed for record in run.records if record.success]
    print(f'G1 hand-reach policy succeeded on seeds {reached}')
    assert reached, [(record.episode, record.failure_reason) for record in run.records]
    for record in run.records:
        assert (record.failure_reason is None) == record.success
    assert run.latencies_ms
