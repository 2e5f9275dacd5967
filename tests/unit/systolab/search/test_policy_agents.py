"""Agents on a synthetic environment (closed-form cost and accuracy): budgets, pins, bounds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import policy_synthetic_env as env

from compiler.policy import LayerPolicy, Policy
from systolab.search.agents import AGENTS, PolicySpace, SearchContext, make_agent
from systolab.search.agents.space import bit_knobs, keep_knobs
from systolab.search.budget import Budget, BudgetError
from systolab.search.loop import SearchConfig, run_search

BASE = env.cost(Policy(LayerPolicy(8, 8)))


def context(metric: str = "latency", value: float = 0.6, **kw: object) -> SearchContext:
    budget = Budget(metric, value).resolve(BASE)
    return SearchContext(env.layers(), env.cost, budget, **{"episodes": 12, **kw})  # type: ignore[arg-type]


def settings(policy: Policy) -> list[tuple[int, int, float]]:
    out = []
    for layer in env.layers():
        lp = policy.layers[layer.name]
        assert lp.w_bits is not None and lp.a_bits is not None
        out.append((lp.w_bits, lp.a_bits, lp.keep or 1.0))
    return out


def run(agent: str, ctx: SearchContext, episodes: int) -> list[Policy]:
    a = make_agent(agent, ctx)
    policies = []
    for _ in range(episodes):
        proposal = a.propose()
        if proposal is None:
            break
        acc = env.accuracy(proposal.policy)
        a.observe(proposal, acc, env.cost(proposal.policy), 10 * (acc - 0.99))
        policies.append(proposal.policy)
    return policies


@pytest.mark.parametrize("metric", ["latency", "energy", "size"])
def test_haq_meets_the_budget_with_first_and_last_pinned(metric: str) -> None:
    ctx = context(metric, 0.5)
    policies = run("haq", ctx, 12)
    assert len(policies) == 12
    assert ctx.budget is not None
    for p in policies:
        assert ctx.budget.holds(env.cost(p))
        s = settings(p)
        assert s[0][:2] == (8, 8) and s[-1][:2] == (8, 8)
        assert all(2 <= w <= 8 and 2 <= a <= 8 and keep == 1.0 for w, a, keep in s)
    # The actions differ between episodes (exploration), not one fixed policy.
    assert len({str(p.to_dict()) for p in policies}) > 3


def test_haq_lowers_bits_from_the_last_layer_back() -> None:
    ctx = context("latency", 0.8)
    space = PolicySpace(ctx, bit_knobs(ctx))
    top = [len(k.values) - 1 for k in space.knobs]
    assert not space.holds(top)
    lowered = space.lower_after(top, [space.from_last(("w_bits", "a_bits"))])
    assert space.holds(lowered)
    s = settings(space.policy(lowered))
    bits = [a for _, a, _ in s[1:-1]]
    assert bits == sorted(bits, reverse=True)  # later layers went down first
    assert bits[-1] < 8 and s[0][:2] == (8, 8)


def test_an_impossible_budget_is_a_clear_error() -> None:
    with pytest.raises(BudgetError, match=r"cannot be met: even the cheapest policy .* 2 on every"):
        make_agent("haq", context("latency", 0.05))
    with pytest.raises(BudgetError, match="cannot be met"):
        make_agent("amc", context("energy", 0.01))


def test_amc_respects_keep_bounds_column_multiple_and_budget() -> None:
    ctx = context("latency", 0.5, channel_multiple=8)
    assert ctx.budget is not None
    layers = env.layers()
    policies = run("amc", ctx, 12)
    for p in policies:
        assert ctx.budget.holds(env.cost(p))
        for layer, (w, a, keep) in zip(layers, settings(p), strict=True):
            assert (w, a) == (8, 8)
            kept = round(keep * layer.out_channels)
            assert keep >= 0.2 - 1e-9
            assert kept == layer.out_channels or kept % 8 == 0
        assert settings(p)[-1][2] == 1.0  # the classifier keeps its classes
    # Some layers are pruned hard enough to need the before-action clip.
    assert any(settings(p)[0][2] < 1 for p in policies)


def test_amc_clips_before_each_action() -> None:
    ctx = context("latency", 0.5, channel_multiple=8)
    space = PolicySpace(ctx, keep_knobs(ctx))
    chosen: list[int] = []
    for k, knob in enumerate(space.knobs):
        i = space.clip_before(chosen, k, len(knob.values) - 1)  # the agent asks for everything
        chosen.append(i)
        assert space.holds([*chosen, *[0] * (len(space) - k - 1)])
    assert space.holds(chosen)
    assert chosen[0] == len(space.knobs[0].values) - 1  # early layers get what they ask for...
    assert chosen[-1] < len(space.knobs[-1].values) - 1  # ...until the budget bites


def test_joint_searches_bits_and_keeps_within_budget() -> None:
    ctx = context("energy", 0.4, channel_multiple=4)
    assert ctx.budget is not None
    policies = run("joint", ctx, 10)
    assert all(ctx.budget.holds(env.cost(p)) for p in policies)
    assert any(any(keep < 1 for *_, keep in settings(p)) for p in policies)
    assert any(any(w < 8 for w, *_ in settings(p)[1:-1]) for p in policies)


def test_uniform_tries_each_width_within_budget_widest_first() -> None:
    ctx = context("latency", 0.7)
    widths = [settings(p)[1][0] for p in run("uniform", ctx, 20)]
    assert widths == sorted(widths, reverse=True) and max(widths) < 8 and min(widths) == 2


def test_greedy_lowers_the_least_sensitive_layers_first() -> None:
    ctx = context("latency", 0.85)
    assert ctx.budget is not None
    policies = run("greedy", ctx, 20)
    assert len(policies) == 5  # 4 probes (unpinned layers) and the final policy
    final = settings(policies[-1])
    assert ctx.budget.holds(env.cost(policies[-1]))
    # conv3 (sensitivity 0.001) goes down before conv2 (0.03)
    assert final[3][1] < 8 and final[2][1] == 8


def test_nsga2_returns_a_non_dominated_front() -> None:
    config = SearchConfig("nsga2", Budget("latency", 0.7), episodes=24, seed=3)
    result = run_search(config, layers=env.layers(), cost=env.cost, accuracy=env.accuracy,
                        reference_accuracy=0.99, baseline=BASE)
    assert len(result.history) == 24 and result.pareto
    front = result.pareto
    for r in front:
        for o in result.history:
            assert not (o.accuracy >= r.accuracy and o.seconds <= r.seconds
                        and o.energy_pj <= r.energy_pj
                        and (o.accuracy, o.seconds, o.energy_pj) != (r.accuracy, r.seconds, r.energy_pj))
    assert result.best is not None and result.best.feasible
    assert all(r.accuracy <= result.best.accuracy for r in result.history if r.feasible)


def test_every_agent_is_registered_and_unknown_names_are_errors() -> None:
    assert set(AGENTS) == {"haq", "amc", "joint", "uniform", "greedy", "nsga2", "sensitivity",
                           "sensitivity-keep", "sensitivity-joint"}
    with pytest.raises(KeyError, match=r"agent must be one of .* not 'haqq' \(did you mean 'haq'"):
        make_agent("haqq", context())


def test_whether_an_agent_needs_a_budget_is_its_registry_entry() -> None:
    needs = {name for name, spec in AGENTS.items() if spec.needs_budget}
    assert needs == {"haq", "amc", "joint", "greedy", "sensitivity", "sensitivity-keep",
                     "sensitivity-joint"}
    unbounded = SearchContext(env.layers(), env.cost, None, episodes=12)
    for name in AGENTS:
        if name in needs:
            with pytest.raises(BudgetError, match=f"the {name} agent needs a budget"):
                make_agent(name, unbounded)
        else:
            assert make_agent(name, unbounded).propose() is not None


def test_the_published_schedules_set_warmup_noise_and_replay() -> None:
    from systolab.search.agents import SCHEDULES
    from systolab.search.agents.ddpg_agent import DDPGAgent

    haq = SCHEDULES["haq"].config(600, knobs=10)
    assert (haq.warmup_episodes, haq.sigma_decay, haq.buffer_size) == (20, 0.99, 1280)
    amc = SCHEDULES["amc"].config(800, knobs=10)
    assert (amc.warmup_episodes, amc.sigma_decay, amc.buffer_size) == (100, 0.95, 1000)
    assert (SCHEDULES["haq"].episodes, SCHEDULES["amc"].episodes) == (600, 800)
    short = SCHEDULES["short"].config(40, knobs=10)
    assert (short.warmup_episodes, short.sigma_decay) == (10, None)

    ctx = context("latency", 0.6, episodes=30, schedule="haq")
    agent = make_agent("haq", ctx)
    assert isinstance(agent, DDPGAgent)
    learner = agent.learner
    assert learner.config.buffer_size == 128 * len(agent.space)
    for episode in range(25):
        proposal = agent.propose()
        acc = env.accuracy(proposal.policy)
        agent.observe(proposal, acc, env.cost(proposal.policy), 10 * (acc - 0.99))
        after_warmup = max(0, episode + 1 - 20)
        assert learner.sigma == pytest.approx(0.5 * 0.99 ** after_warmup)
