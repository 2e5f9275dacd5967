"""Every field of every shipped config, mutated: the loader either accepts the document, and
then a simulation gives finite, non-negative figures, or refuses it with one short line that
names the field. Never another exception, never NaN or infinity, never an unbounded message.

The mutations replace one value (or delete one key, or add an unknown one) with the values
users actually type by mistake: NaN, infinities, negatives, zero, huge and tiny numbers,
booleans, strings, lists, mappings, nothing. Through the CLI, the same mutations end with exit
code 2 and no traceback.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.frontend.scalesim import load_scalesim_topology
from compiler.passes import compile_graph
from compiler.policy import Policy
from hwsim.config import arch_from_dict, shipped_configs
from hwsim.errors import SystolabError
from hwsim.resources import pe_resource_table_from_dict
from hwsim.tables import area_table_from_dict, energy_table_from_dict
from hwsim.yamlfile import find_config_file
from systolab.cli import main
from systolab.pipeline import simulate_graph
from systolab.search.sweep import sweep_spec_from_dict

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
TOPOLOGY = REPO / "tests" / "unit" / "compiler" / "data" / "scalesim_conv.csv"
GRAPH = compile_graph(load_scalesim_topology(TOPOLOGY))

Path_ = tuple[str | int, ...]
TYPOS = [math.nan, math.inf, -math.inf, -1, 0, -0.0, 0.5, 1e-300, 1e12, 1e100, 2**70, True, False,
         None, "", "abc", "x" * 5000, [], [1, 2], {}, {"a": 1}]
VALUES = st.one_of(st.sampled_from(TYPOS), st.floats(), st.integers(-2**80, 2**80),
                   st.text(max_size=12), st.lists(st.integers(), max_size=3))
MUTATIONS = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def leaves(doc: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from leaves(value, (*path, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from leaves(value, (*path, i))
    else:
        yield path


def mutate(doc: Any, path: Path_, how: str, value: Any) -> tuple[Any, str]:
    """A copy of ``doc`` changed at ``path``, and how it was changed (a list item can only be
    replaced)."""
    out = copy.deepcopy(doc)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if not isinstance(parent, dict):
        how = "replace"
    if how == "delete":
        del parent[path[-1]]
    elif how == "unknown key":
        parent["surprise_key"] = value
    else:
        parent[path[-1]] = value
    return out, how


def names(path: Path_, how: str) -> list[str]:
    """Names one of which the error must mention: the field, or its section."""
    keys = [str(k) for k in path if not isinstance(k, int)]
    return ["surprise_key"] if how == "unknown key" else keys[-2:] or [""]


def check_refusal(err: SystolabError, path: Path_, how: str) -> None:
    text = str(err)
    assert "\n" not in text and len(text) <= 600, text
    assert any(n in text for n in names(path, how)), (path, how, text)


def _yaml(relative: str) -> dict[str, Any]:
    data = yaml.safe_load((CONFIGS / relative).read_text())
    assert isinstance(data, dict)
    return data


def _finite_simulation(doc: dict[str, Any], base: Path) -> None:
    arch = arch_from_dict(doc, base=base)
    try:
        total = simulate_graph(GRAPH, arch, trace=False).stats.total
    except SystolabError:  # e.g. a buffer too small for any tile: refused, with a message
        return
    for figure in (total.cycles, total.seconds, total.energy_pj):
        assert math.isfinite(figure) and figure >= 0, (figure, doc)


TABLES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "energy": ("energy/horowitz_45nm.yaml", energy_table_from_dict),
    "area": ("area/asic_45nm.yaml", area_table_from_dict),
    "fpga resources": ("fpga/pe_resources.yaml", pe_resource_table_from_dict),
    "sweep": ("sweeps/edge_sweep.yaml", sweep_spec_from_dict),
}
POLICY = {"default": {"w_bits": 8, "a_bits": 8},
          "layers": {"conv1": {"w_bits": 4, "a_bits": 6, "keep": 0.5}}}


@pytest.mark.parametrize("name", shipped_configs())
@MUTATIONS
@given(data=st.data())
def test_a_mutated_arch_is_refused_by_field_or_simulates_to_finite_figures(
        name: str, data: st.DataObject) -> None:
    path_file = find_config_file(name)
    doc = yaml.safe_load(path_file.read_text())
    path = data.draw(st.sampled_from(list(leaves(doc))))
    how = data.draw(st.sampled_from(["replace", "replace", "delete", "unknown key"]))
    mutated, how = mutate(doc, path, how, data.draw(VALUES))
    try:
        _finite_simulation(mutated, path_file.parent)
    except SystolabError as err:
        check_refusal(err, path, how)


@pytest.mark.parametrize("table", [*TABLES, "policy"])
@MUTATIONS
@given(data=st.data())
def test_a_mutated_table_sweep_or_policy_is_refused_by_field_or_accepted(
        table: str, data: st.DataObject) -> None:
    if table == "policy":
        doc, load = POLICY, Policy.from_dict
    else:
        doc, load = _yaml(TABLES[table][0]), TABLES[table][1]
    path = data.draw(st.sampled_from(list(leaves(doc))))
    how = data.draw(st.sampled_from(["replace", "replace", "delete", "unknown key"]))
    mutated, how = mutate(doc, path, how, data.draw(VALUES))
    try:
        load(mutated)
    except SystolabError as err:
        check_refusal(err, path, how)


@pytest.mark.parametrize("value", [math.nan, -1, 1e100, "x" * 5000, [1], True])
def test_through_the_cli_a_mutated_arch_is_exit_2_and_one_line(
        value: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _yaml("edge_int8.yaml")
    doc["energy"] = str(CONFIGS / "energy" / "horowitz_45nm.yaml")
    for path in [("array", "clock_mhz"), ("dram", "bw_gbps"), ("buffers", "weight", "size_kib")]:
        arch = tmp_path / "arch.yaml"
        arch.write_text(yaml.safe_dump(mutate(doc, path, "replace", value)[0]))
        assert main(["simulate", "--topology", str(TOPOLOGY), "--arch", str(arch)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
        assert str(path[-1]) in err and len(err) < 600
