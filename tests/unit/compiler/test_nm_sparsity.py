"""N:M structured sparsity: pruning along input channels, kept through quantization and
fine-tuning, read by the front end, and run at N/M of the reduction only on an array built
for the same M."""

from __future__ import annotations

import re
from collections import OrderedDict

import pytest
import torch
import yaml
from torch import nn

from compiler.compression import compress
from compiler.compression.nm import nm_of, prune_nm
from compiler.errors import PolicyError
from compiler.frontend.pytorch import trace
from compiler.passes import compile_graph
from compiler.policy import Policy, apply_policy
from hwsim.config import arch_from_dict, find_config_file
from hwsim.errors import ConfigError
from systolab.pipeline import simulate_graph


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(8, 16, 3, padding=1), relu=nn.ReLU(),
                                     flat=nn.Flatten(), fc=nn.Linear(16 * 6 * 6, 10))).eval()


X = torch.randn(1, 8, 6, 6)


def test_pruning_keeps_the_largest_n_of_every_m_input_channels() -> None:
    model = net()
    dense = model.conv.weight.detach().clone()
    prune_nm(model.conv, 2, 4)
    w = model.conv.weight.detach()
    groups = w.movedim(1, -1).reshape(-1, 4)  # [out, kh, kw, in] in groups of 4 channels
    assert torch.equal((groups != 0).sum(dim=-1), torch.full((groups.shape[0],), 2))
    kept = dense.movedim(1, -1).reshape(-1, 4).abs().topk(2, dim=-1).values
    assert torch.equal(groups.abs().sort(dim=-1).values[:, 2:], kept.sort(dim=-1).values)
    assert nm_of(w) == (2, 4)
    with pytest.raises(PolicyError, match=r"2:4 sparsity needs input channels in groups of 4, "
                                          r"and this layer has 6"):
        prune_nm(nn.Linear(6, 2), 2, 4)


def test_the_pattern_survives_quantization_and_fine_tuning_and_the_front_end_reads_it() -> None:
    policy = Policy.from_dict({"default": {"w_bits": 4, "a_bits": 8},
                               "layers": {"conv": {"nm": "2:4"}, "fc": {"nm": "1:4"}}})
    small = compress(net(), X, policy)
    assert nm_of(small.conv.weight) == (2, 4) and nm_of(small.fc.weight) == (1, 4)
    opt = torch.optim.SGD(small.parameters(), lr=0.1)
    small.train()
    small(X).sum().backward()
    opt.step()
    assert nm_of(small.conv.weight) == (2, 4)  # pruned weights stay zero
    ops = {op.name: op for op in compile_graph(trace(small.eval(), X)).compute_ops()}
    assert ops["conv"].sparsity.nm == (2, 4) and ops["conv"].sparsity.density == 0.5
    assert ops["fc"].sparsity.nm == (1, 4) and ops["conv"].precision.w_bits == 4
    # the IR path (costing without weights) gives the same pattern
    ir = {op.name: op for op in apply_policy(trace(net(), X), policy).compute_ops()}
    assert ir["conv"].sparsity.nm == (2, 4) and ir["conv"].sparsity.density == 0.5
    assert policy.layers["fc"].to_dict() == {"nm": "1:4"}


@pytest.mark.parametrize("text", ["4:2", "2/4", "0:4", "2:64", 2])
def test_a_bad_pattern_names_the_field(text: object) -> None:
    with pytest.raises(PolicyError, match=r"^policy: layers\.fc\.nm must be 'N:M' with 0 < N < M "
                                          r"<= 32, e.g\. '2:4', not "):
        Policy.from_dict({"layers": {"fc": {"nm": text}}})
    doc = yaml.safe_load(find_config_file("sparse_nm_int8").read_text())
    doc["sparsity"]["nm"] = text
    with pytest.raises(ConfigError, match=re.escape("sparsity.nm must be 'N:M' with 0 < N < M "
                                                    "<= 32, e.g. '2:4', not")):
        arch_from_dict(doc, base=find_config_file("sparse_nm_int8").parent)


def test_only_an_array_built_for_the_pattern_runs_it_faster() -> None:
    policy = Policy.from_dict({"layers": {"conv": {"nm": "2:4"}, "fc": {"nm": "2:8"}}})
    graph = compile_graph(trace(net(), X, policy=policy))
    nm_arch = simulate_graph(graph, "sparse_nm_int8", trace=False)
    dense_arch = simulate_graph(graph, "edge_int8", trace=False)
    conv, fc = nm_arch.mapped.plan("conv"), nm_arch.mapped.plan("fc")
    assert conv.mapping is not None and conv.sparsity is not None
    assert (conv.mapping.k_scale, conv.mapping.weight_word_bits) == (0.5, 0.5 * (8 + 2))
    assert conv.sparsity.note == ("2:4 sparsity: weights stored at 5.00 bits each, x0.50 of "
                                  "each reduction")
    assert fc.sparsity is not None and fc.mapping is not None and fc.mapping.k_scale == 1.0
    assert fc.sparsity.note.endswith("(its 2:8 pattern is not the array's 2:4)")
    plain = compile_graph(trace(net(), X))
    assert nm_arch.stats.cycles < simulate_graph(plain, "sparse_nm_int8", trace=False).stats.cycles
    assert all("saves nothing" in p.sparsity.note for p in dense_arch.mapped.plans if p.sparsity)
