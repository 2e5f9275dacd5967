"""Co-design: per hardware point, the most precise uniform policy that meets the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.frontend.scalesim import load_scalesim_topology
from hwsim.config import load_arch
from systolab.search.sweep import run_sweep, sweep_spec_from_dict
from systolab.search.sweep.spec import CodesignSpec
from systolab.search.sweep.uniform_policy import best_uniform_policy

pytest.importorskip("torch")  # systolab.search.costs.CostModel imports it


def test_generous_budget_keeps_8_bits(topology: Path) -> None:
    graph = load_scalesim_topology(topology)
    choice = best_uniform_policy(graph, load_arch("edge_int8"),
                         CodesignSpec((8, 4), (("latency_ms", 1e9),)), "native", "conv")
    assert (choice.w_bits, choice.a_bits, choice.score, choice.reason) == (8, 8, 8.0, "")


def test_tight_budget_lowers_bits_and_impossible_budget_says_why(topology: Path) -> None:
    graph = load_scalesim_topology(topology)
    arch = load_arch("edge_int8")
    full = best_uniform_policy(graph, arch, CodesignSpec((8, 4), (("weight_mib", 1e9),)), "native", "c")
    # three layers: the middle one (Conv2) is the only one not pinned at 8 bits
    tight = CodesignSpec((8, 4), (("weight_mib", full.weight_mib * 0.99),))
    choice = best_uniform_policy(graph, arch, tight, "native", "conv")
    assert choice.reason == "" and (choice.w_bits, choice.a_bits) in {(4, 8), (4, 4)}
    assert choice.weight_mib < full.weight_mib and choice.score < 8.0
    impossible = CodesignSpec((8, 4), (("weight_mib", 1e-6),))
    none = best_uniform_policy(graph, arch, impossible, "native", "conv")
    assert none.w_bits is None
    assert none.reason.startswith("no policy from bits [8, 4] meets the budget "
                                  "(weight_mib <= 1e-06); closest: w4a")


def test_codesign_sweep_reports_policies_and_reasons(tmp_path: Path, tiny_doc) -> None:
    doc = tiny_doc(axes={"array": [8, 32]}, constraints={},
                   codesign={"bits": [8, 4], "budget": {"latency_ms": 5.0}})
    outcome = run_sweep(sweep_spec_from_dict(doc), tmp_path, workers=0)
    small, big = outcome.results
    assert not small.feasible and small.reason.startswith("conv: no policy from bits [8, 4]")
    assert big.feasible and big.details["conv"]["policy"] == "w8a8"
