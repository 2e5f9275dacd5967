"""compress(): a policy applied to a copy of the model, read back by the front end."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compiler.compression import compress
from compiler.errors import PolicyError
from compiler.frontend.capture import _capture_export
from compiler.frontend.convert import to_graph
from compiler.frontend.pytorch import trace
from compiler.ir import Gemm, Graph
from compiler.passes import compile_graph
from compiler.policy import Policy
from systolab.zoo import get_model

POLICY = Policy.from_dict({
    "default": {"w_bits": 8, "a_bits": 8},
    "layers": {
        "conv1": {"w_bits": 4, "a_bits": 6, "keep": 0.5},
        "conv2": {"w_bits": 3, "keep": 0.25},
        "fc1": {"w_bits": 2, "a_bits": 5},
    },
})


def _data(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("capture", ["fx", "export"])
def test_front_end_sees_the_policy_bits_and_shrunk_shapes(capture: str) -> None:
    model, x = get_model("digits_cnn")
    small = compress(model, x, POLICY, calibration=_data(16))
    graph: Graph = trace(small, x) if capture == "fx" else to_graph(_capture_export(small, x))
    bits = {op.name: (op.precision.w_bits, op.precision.a_bits) for op in graph.compute_ops()}
    assert bits == {"conv1": (4, 6), "conv2": (3, 8), "fc1": (2, 5), "fc2": (8, 8)}
    lowered = compile_graph(graph)
    gemm = {name: lowered.record(name, Gemm) for name in bits}
    assert (gemm["conv1"].N, gemm["conv1"].K) == (8, 1 * 9)
    assert (gemm["conv2"].N, gemm["conv2"].K) == (8, 8 * 9)  # the consumer's K shrank
    assert (gemm["fc1"].N, gemm["fc1"].K) == (64, 8 * 4 * 4)  # through the flatten
    assert gemm["fc2"].N == 10


def test_compressed_copy_runs_and_leaves_the_original_alone() -> None:
    model, x = get_model("digits_cnn")
    reference = model(x)
    small = compress(model, x, POLICY)
    assert small(_data(3)).shape == (3, 10)
    assert model.conv1.out_channels == 16 and not hasattr(model.conv1, "parametrizations")
    torch.testing.assert_close(model(x), reference)
    names = {n for n, _ in model.named_modules()}
    assert names <= {n for n, _ in small.named_modules()}  # quantizers only add children


def test_resnet18_compresses_with_a_residual_tie() -> None:
    model, _ = get_model("resnet18")
    x = torch.randn(1, 3, 32, 32)
    policy = Policy.from_dict({"layers": {"layer1.0.conv2": {"keep": 0.5, "w_bits": 4},
                                          "conv1": {"w_bits": 8, "a_bits": 8}}})
    small = compress(model, x, policy, channel_multiple=16)
    assert small(x).shape == (1, 1000)
    graph = compile_graph(trace(small, x))
    for name in ("conv1", "layer1.0.conv2", "layer1.1.conv2"):
        assert graph.record(name, Gemm).N == 32
    assert graph.record("layer2.0.downsample.0", Gemm).K == 32
    assert graph.op("layer1.0.conv2").precision.w_bits == 4
    assert graph.op("conv1").precision == graph.op("conv1").precision.__class__(8, 8)


def _bn_inputs(model: nn.Module, data: torch.Tensor) -> dict[str, torch.Tensor]:
    seen: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_pre_hook(lambda _m, a, n=n: seen.__setitem__(n, a[0]))
             for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        model.eval()(data)
    for h in hooks:
        h.remove()
    return seen


def test_bn_statistics_are_reestimated_on_the_compressed_model() -> None:
    model, x = get_model("digits_cnn")
    data = _data(64)
    stale = compress(model, x, POLICY, calibration=data)
    fresh = compress(model, x, POLICY, calibration=data, reestimate_bn=data)
    for compressed, should_match in ((stale, False), (fresh, True)):
        inputs = _bn_inputs(compressed, data)
        for name, x_in in inputs.items():
            bn = compressed.get_submodule(name)
            mean, var = x_in.mean(dim=(0, 2, 3)), x_in.var(dim=(0, 2, 3), unbiased=True)
            matches = torch.allclose(bn.running_mean, mean, atol=1e-4, rtol=1e-3) and \
                torch.allclose(bn.running_var, var, atol=1e-4, rtol=1e-3)
            assert matches is should_match, name
    # Normalized activations: per-channel mean 0 and variance 1 before the affine terms.
    out = _bn_inputs(fresh, data)["bn2"]
    bn2 = fresh.bn2
    normalized = (out - bn2.running_mean[:, None, None]) / (bn2.running_var[:, None, None]
                                                            + bn2.eps).sqrt()
    assert normalized.mean(dim=(0, 2, 3)).abs().max() < 1e-3
    assert (normalized.var(dim=(0, 2, 3)) - 1).abs().max() < 1e-2


def test_fpgm_criterion_and_policy_errors() -> None:
    model, x = get_model("digits_cnn")
    keep = Policy.from_dict({"layers": {"conv2": {"keep": 0.5}}})
    by_l1 = compress(model, x, keep)
    by_fpgm = compress(model, x, keep, prune_criterion="fpgm")
    assert by_l1.conv2.out_channels == by_fpgm.conv2.out_channels == 16
    assert not torch.equal(by_l1.conv2.weight, by_fpgm.conv2.weight)  # other filters kept
    with pytest.raises(PolicyError, match=r"policy names layer 'bn1', which is a BatchNorm2d, "
                                          r"not a conv or linear layer"):
        compress(model, x, Policy.from_dict({"layers": {"bn1": {"w_bits": 4}}}))
    with pytest.raises(PolicyError, match=r"which the model does not have \(did you mean 'fc2', 'fc1'\?\)"):
        compress(model, x, Policy.from_dict({"layers": {"fc": {"w_bits": 4}}}))
    with pytest.raises(PolicyError, match=r"layers\.fc1\.ternary: ternary weights take w_bits 2, "
                                          r"not 4"):
        compress(model, x, Policy.from_dict({"layers": {"fc1": {"w_bits": 4, "ternary": True}}}))
