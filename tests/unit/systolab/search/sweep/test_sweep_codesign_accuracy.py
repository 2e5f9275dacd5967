"""Co-design with measured accuracy: sensitivities measured once, per-point exact solves,
real accuracy of the chosen policies, the front over error, and the transfer table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("torch")

from hwsim.errors import ConfigError
from systolab.search.accuracy import task_accuracy
from systolab.search.costs import CostModel
from systolab.search.sweep import run_sweep, sweep_spec_from_dict
from systolab.search.sweep.codesign import policy_of
from systolab.search.sweep.evaluate import evaluate_point
from systolab.search.sweep.points import to_arch
from systolab.search.sweep.runner import build_context
from systolab.search.sweep.transfer import transfer_table, write_transfer
from systolab.search.tasks import get_task

BUDGET_MS = 0.02  # binds on the slower points: their policies must go narrower


def doc(**overrides: object) -> dict:
    base = {"name": "cd", "base": "stripes", "workloads": [{"model": "digits_cnn"}],
            "axes": {"array": [8, 16], "clock_mhz": [500, 1000]},
            "codesign": {"task": "digits", "bits": [8, 4, 2],
                         "budget": {"latency_ms": BUDGET_MS}}}
    base.update(overrides)
    return base


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory):
    return run_sweep(sweep_spec_from_dict(doc()), tmp_path_factory.mktemp("cd"), workers=0)


def test_each_point_gets_a_measured_policy_within_its_budget(outcome) -> None:
    spec = outcome.spec
    assert spec.objectives == ("error_pct", "latency_ms", "energy_uj", "area_mm2")
    task = get_task("digits")
    accuracy = task_accuracy(task, task.pretrained())
    feasible = [r for r in outcome.results if r.feasible]
    assert feasible and len(feasible) < len(outcome.results)  # the budget binds somewhere
    policies = set()
    for r in feasible:
        figures = r.details["digits_cnn"]
        assert set(figures["bits"]) == {"conv2", "fc1"}  # conv1 and fc2 stay at 8 bits
        assert set(figures["bits"].values()) <= {8, 4, 2}
        assert r.metrics["latency_ms"] <= BUDGET_MS * (1 + 1e-9)
        policy = policy_of(("conv1", "fc2"), figures["bits"])
        assert r.metrics["error_pct"] == pytest.approx(100 * (1 - accuracy(policy)))
        policies.add(figures["policy"])
    assert len(policies) > 1  # different hardware, different best policy
    assert all(not r.feasible and r.reason.startswith("digits_cnn: no policy from bits [2, 4, 8]")
               for r in outcome.results if not r.feasible)


def test_sensitivities_are_measured_once_and_points_match_one_by_one(outcome) -> None:
    ctx = build_context(outcome.spec)
    (sens,) = ctx.sensitivities
    assert sens.layers == ("conv2", "fc1") and sens.pinned == ("conv1", "fc2")
    assert sens.evaluations == 1 + 2 * 2 and sens.bits == (2, 4, 8)
    for r in outcome.results:
        alone = evaluate_point(r.seq, r.point, ctx)
        assert (alone.feasible, alone.reason, alone.metrics) == (r.feasible, r.reason, r.metrics)


def test_the_transfer_table_runs_every_policy_on_every_front_point(outcome, tmp_path: Path) -> None:
    table = transfer_table(outcome)
    n = len(table.points)
    assert n == len(outcome.front) >= 2
    for i, r in enumerate(table.points):
        assert table.latency_ms[i][i] == pytest.approx(r.metrics["latency_ms"])
        assert table.holds[i][i] and table.error_pct[i] == r.metrics["error_pct"]
    # spot-check one off-diagonal cell against the cost model
    spec = outcome.spec
    from hwsim.config import load_arch

    arch = to_arch(load_arch(spec.base), table.points[-1].point)
    graph = build_context(spec).workloads[0].graph
    policy = policy_of(("conv1", "fc2"), table.points[0].details["digits_cnn"]["bits"])
    assert table.latency_ms[0][n - 1] == pytest.approx(CostModel(graph, arch).evaluate(policy).latency_ms)
    rows = write_transfer(table, tmp_path / "t.csv").read_text().splitlines()
    assert len(rows) == 1 + n * n and rows[0].startswith("policy_of,hardware,error_pct")


@pytest.mark.parametrize(("change", "message"), [
    ({"codesign": {"task": "cifar", "budget": {"latency_ms": 1}}},
     "codesign.task must be one of 'digits', 'mnist', 'mnist-resnet8', 'mnist-lenet300', not "
     "'cifar'"),
    ({"codesign": {"task": "digits", "budget": {"latency_ms": 1, "energy_uj": 1}}},
     "codesign.budget must be one of latency_ms, energy_uj or weight_mib with a task"),
    ({"codesign": {"task": "digits", "bits": [4], "budget": {"latency_ms": 1}}},
     "codesign.bits must be at least two widths with a task"),
    ({"codesign": {"bits": [8, 4], "budget": {"latency_ms": 1}},
      "objectives": ["error_pct", "latency_ms"]},
     "objectives must be without error_pct unless codesign has a task"),
])
def test_spec_errors_name_the_field(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        sweep_spec_from_dict(doc(**change))


def test_a_workload_the_task_does_not_train_is_refused() -> None:
    spec = sweep_spec_from_dict(doc(workloads=[{"model": "lenet5"}]))
    with pytest.raises(ConfigError, match=r"^codesign.task: the digits task trains digits_cnn, "
                                          r"so every workload must be model digits_cnn, not lenet5"):
        build_context(spec)
