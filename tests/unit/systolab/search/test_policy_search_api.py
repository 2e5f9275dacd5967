"""systolab.search.policy_search: the search the command runs, from Python."""

from __future__ import annotations

from pathlib import Path

import pytest

from systolab.search.budget import Budget, BudgetError
from systolab.search.policy_search import SearchSetupError, search_policy


def test_a_search_from_python_returns_its_report_and_writes_only_where_asked(
        tmp_path: Path) -> None:
    report = search_policy(task="digits", arch="stripes", agent="uniform", out_dir=None,
                           episodes=3)
    assert report.model == "digits_cnn" and report.arch == "stripes"
    assert [c["policy"] for c in report.comparison] == [
        "searched (uniform)", "uniform 8-bit", "uniform 6-bit", "uniform 4-bit"]
    assert [r["name"] for r in report.layers] == ["conv1", "conv2", "fc1", "fc2"]
    assert report.result.best is not None
    written = report.write(tmp_path / "out")
    assert [p.name for p in written] == ["best_policy.yaml", "report.json"]


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"agent": "amc"}, BudgetError, "the amc agent needs a budget"),
    ({"model": "lenet5", "task": "digits", "budget": Budget("latency", 0.5)},
     SearchSetupError, "the digits task trains digits_cnn, not 'lenet5'"),
    ({"model": "resnet18", "budget": Budget("latency", 0.5)},
     SearchSetupError, "no built-in task trains 'resnet18'"),
    ({"task": "digits", "agent": "greedy", "schedule": "haq", "budget": Budget("latency", 0.5)},
     SearchSetupError, r"schedule 'haq' \(--schedule\) is for the DDPG agents \(haq, amc, joint\)"),
    ({"task": "digits", "schedule": "haqq", "budget": Budget("latency", 0.5)},
     KeyError, r"schedule must be one of short, haq, amc, not 'haqq' \(did you mean 'haq'"),
])
def test_setup_errors_name_what_does_not_fit(kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        search_policy(out_dir=None, episodes=1, **kwargs)


@pytest.mark.parametrize("lr", [float("nan"), -1.0, 0.0, float("inf")])
def test_a_learning_rate_that_cannot_train_is_refused_up_front(lr: float) -> None:
    with pytest.raises(SearchSetupError, match=r"^finetune_lr \(--finetune-lr\) must be a "
                                               r"positive number, not "):
        search_policy(task="digits", agent="uniform", finetune_lr=lr, out_dir=None)


def test_a_relative_budget_that_never_binds_is_refused() -> None:
    """``--latency 5`` (five times the 8-bit model) used to run as if no budget were set."""
    with pytest.raises(BudgetError, match=r"^latency budget must be at most 1 as a fraction of "
                                          r"the uniform 8-bit model, not 5: with bits up to 8 a "
                                          r"looser budget never binds \(for ms, add --absolute\)$"):
        search_policy(task="digits", agent="haq", budget=Budget("latency", 5), out_dir=None)
