"""Policy files: parsing, pinned error messages, application on a traced model."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import PolicyError
from compiler.frontend.pytorch import trace
from compiler.ir import Gemm, Graph
from compiler.passes import compile_graph
from compiler.policy import Policy, apply_policy, load_policy
from systolab.zoo import get_model


@pytest.fixture(scope="module")
def resnet18() -> Graph:
    return trace(*get_model("resnet18"))


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_and_json_files_load(tmp_path: Path) -> None:
    y = load_policy(_write(tmp_path, "default: {w_bits: 6}\nlayers:\n  fc: {a_bits: 4, keep: 0.5}\n"))
    j = load_policy(_write(tmp_path, '{"default": {"w_bits": 6}, "layers": {"fc": {"a_bits": 4, '
                                     '"keep": 0.5}}}', "p.json"))
    assert y == j
    assert y.layers["fc"].keep == 0.5 and y.default.w_bits == 6


def test_unknown_layer_lists_the_closest_names(resnet18: Graph) -> None:
    policy = Policy.from_dict({"layers": {"layer1.0.conv3": {"w_bits": 4}}})
    with pytest.raises(PolicyError, match=r"policy names layer 'layer1.0.conv3', which the model "
                                          r"does not have \(did you mean 'layer1.0.conv2', 'layer1.0.conv1'"):
        apply_policy(resnet18, policy)


def test_non_compute_layer_is_named(resnet18: Graph) -> None:
    with pytest.raises(PolicyError, match="'maxpool', which is a maxpool2d op, not a compute layer"):
        apply_policy(resnet18, Policy.from_dict({"layers": {"maxpool": {"w_bits": 4}}}))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"layers": {"fc": {"w_bits": 0}}}, r"layers.fc.w_bits must be an integer from 1 to 16, not 0"),
        ({"layers": {"fc": {"a_bits": 17}}}, r"layers.fc.a_bits must be an integer from 1 to 16, not 17"),
        ({"layers": {"fc": {"keep": 1.5}}}, r"layers.fc.keep must be a number in \(0, 1\], not 1.5"),
        ({"layers": {"fc": {"bits": 4}}}, r"layers.fc: unknown key 'bits' \(expected one of"),
        ({"defaults": {}}, r"unknown key 'defaults' \(expected 'default' or 'layers'\)"),
        ({"default": {"keep": 0.5}}, r"default.keep is not allowed"),
        ([1, 2], r"policy must be a mapping"),
    ],
)
def test_bad_policies_have_pinned_messages(data: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Policy.from_dict(data)


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "layers:\n  fc: {w_bits: 4\n")
    with pytest.raises(PolicyError, match=r"p.yaml' is not valid YAML: line \d+, column \d+"):
        load_policy(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"cannot read policy file .*nope\.yaml"):
        load_policy(tmp_path / "nope.yaml")


def test_policy_sets_bits_with_layer_overrides(resnet18: Graph) -> None:
    policy = Policy.from_dict({"default": {"w_bits": 6, "a_bits": 6},
                               "layers": {"fc": {"w_bits": 4}}})
    g = apply_policy(resnet18, policy)
    assert (g.op("fc").precision.w_bits, g.op("fc").precision.a_bits) == (4, 6)
    assert (g.op("conv1").precision.w_bits, g.op("conv1").precision.a_bits) == (6, 6)
    assert resnet18.op("conv1").precision.w_bits == 8, "the input graph is left untouched"


def test_keep_prunes_channels_and_shrinks_the_consumer(resnet18: Graph) -> None:
    g = compile_graph(apply_policy(resnet18, Policy.from_dict(
        {"layers": {"layer1.0.conv1": {"keep": 0.75}}})))
    conv1 = g.op("layer1.0.conv1")
    assert conv1.sparsity.kept_out_channels == 48 and conv1.sparsity.density == 0.75
    assert g.record("layer1.0.conv1", Gemm).N == 48
    assert g.record("layer1.0.conv2", Gemm).K == 48 * 9


def test_depthwise_keep_points_at_the_producer() -> None:
    mobilenet = trace(*get_model("mobilenet_v2"))
    policy = Policy.from_dict({"layers": {"features.2.conv.1.0": {"keep": 0.5}}})
    with pytest.raises(PolicyError, match=r"layers.features.2.conv.1.0.keep: a depthwise conv's "
                                          r"channels follow its input"):
        apply_policy(mobilenet, policy)
