"""The ONNX front end: models exported from the zoo read as the PyTorch path reads them (same
layers, MACs, parameters and simulated cycles), shape-only files load without their weights,
QDQ pairs give bits, and what cannot be read is one message naming the node and the opset.
Every ONNX file is built in the test (exported, or written with onnx.helper)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
import torch  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from compiler.errors import UnsupportedOpError  # noqa: E402
from compiler.frontend.onnxfile import OnnxError, load_onnx  # noqa: E402
from compiler.frontend.pytorch import trace  # noqa: E402
from compiler.ir import OpKind  # noqa: E402
from compiler.passes import compile_graph  # noqa: E402
from systolab.cli import main  # noqa: E402
from systolab.pipeline import simulate_graph  # noqa: E402
from systolab.zoo import get_model  # noqa: E402


def export(name: str, folder: Path, dynamic: bool = True) -> Path:
    model, example = get_model(name)
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, not gone
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), str(path), dynamo=False, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}} if dynamic else None)
    return path


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "mobilenet_v2", "unet_small", "kws_tcn"])
def test_an_exported_zoo_model_reads_as_the_pytorch_path_reads_it(name: str,
                                                                  tmp_path: Path) -> None:
    from_onnx = compile_graph(load_onnx(export(name, tmp_path)))
    from_torch = compile_graph(trace(*get_model(name)))
    assert from_onnx.total_macs == from_torch.total_macs
    assert from_onnx.total_params == from_torch.total_params
    assert [(op.kind, op.output.shape) for op in from_onnx.compute_ops()] == \
        [(op.kind, op.output.shape) for op in from_torch.compute_ops()]
    assert simulate_graph(from_onnx, "edge_int8", trace=False).stats.total.cycles == \
        simulate_graph(from_torch, "edge_int8", trace=False).stats.total.cycles


def test_layer_names_are_node_names_and_a_symbolic_batch_takes_the_batch(tmp_path: Path) -> None:
    graph = load_onnx(export("lenet5", tmp_path), batch=4)
    assert [op.name for op in graph.compute_ops()] == ["/conv1/Conv", "/conv2/Conv", "/fc1/Gemm",
                                                      "/fc2/Gemm", "/fc3/Gemm"]
    assert graph.compute_ops()[-1].output.shape == (4, 10)
    assert "read from ONNX (opset" in graph.notes[-1]


def _conv_model(weight: onnx.TensorProto, nodes: list[onnx.NodeProto] | None = None,
                initializers: list[onnx.TensorProto] | None = None,
                opset: int = 21) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = nodes or [helper.make_node("Conv", ["x", weight.name], ["y"], name="conv",
                                       pads=[1, 1, 1, 1])]
    graph = helper.make_graph(nodes, "g", [x], [y], [weight, *(initializers or [])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_a_shape_only_model_with_missing_external_weights_loads_and_says_so(
        tmp_path: Path) -> None:
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[8, 3, 3, 3])
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="weights.bin")
    path = tmp_path / "shape_only.onnx"
    onnx.save(_conv_model(weight), str(path))
    graph = load_onnx(path)
    (conv,) = graph.compute_ops()
    assert conv.weight is not None and conv.weight.shape == (8, 3, 3, 3)
    assert conv.output.shape == (1, 8, 16, 16)
    assert any("external data files that are missing (weights.bin)" in n for n in graph.notes)


def test_qdq_pairs_give_weight_and_activation_bits(tmp_path: Path) -> None:
    w_q = helper.make_tensor("w_q", TensorProto.INT4, [8, 3, 3, 3], vals=[1] * 216)
    init = [helper.make_tensor("sx", TensorProto.FLOAT, [], [0.1]),
            helper.make_tensor("zx", TensorProto.UINT8, [], [128]),
            helper.make_tensor("sw", TensorProto.FLOAT, [], [0.05]),
            helper.make_tensor("zw", TensorProto.INT4, [], [0])]
    nodes = [helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="q_x"),
             helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"], name="dq_x"),
             helper.make_node("DequantizeLinear", ["w_q", "sw", "zw"], ["w"], name="dq_w"),
             helper.make_node("Conv", ["xd", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    path = tmp_path / "qdq.onnx"
    onnx.save(_conv_model(w_q, nodes, init), str(path))
    (conv,) = load_onnx(path).compute_ops()
    assert (conv.precision.w_bits, conv.precision.a_bits) == (4, 8)


def test_an_op_it_cannot_map_names_the_op_type_the_node_and_the_opset(tmp_path: Path) -> None:
    weight = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], [0.0] * 216)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("LpNormalization", ["c"], ["y"], name="norm_1")]
    path = tmp_path / "odd.onnx"
    onnx.save(_conv_model(weight, nodes), str(path))
    with pytest.raises(UnsupportedOpError, match=r"unsupported op 'LpNormalization' at node "
                                                 r"'norm_1' \(LpNormalization, opset 21\)"):
        load_onnx(path)


def test_a_file_that_is_not_onnx_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "notes.onnx"
    path.write_text("hello")
    with pytest.raises(OnnxError, match="is not an ONNX model"):
        load_onnx(path)
    with pytest.raises(OnnxError, match="cannot read ONNX model"):
        load_onnx(tmp_path / "missing.onnx")


def test_the_cli_simulates_an_onnx_file_and_without_onnx_says_what_to_install(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = export("lenet5", tmp_path)
    assert main(["simulate", str(path), "--arch", "edge_int8"]) == 0
    assert "/fc3/Gemm" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "onnx", None)
    assert main(["inspect", str(path)]) == 2
    assert capsys.readouterr().err.strip() == ("error: ONNX models need the onnx package: "
                                               "pip install 'systolab[onnx]'")


def test_a_batchnorm_after_a_conv_is_folded_as_in_the_pytorch_path(tmp_path: Path) -> None:
    graph = compile_graph(load_onnx(export("resnet18", tmp_path, dynamic=False)))
    assert not [op for op in graph.ops() if op.kind is OpKind.BATCHNORM]


def test_shapes_computed_in_the_graph_for_a_dynamic_batch_are_folded(tmp_path: Path) -> None:
    """The exporter computes ViT's reshape targets from Shape -> Slice -> Concat at run time;
    they are folded to constants, so the model reads as the PyTorch path reads it."""
    graph = compile_graph(load_onnx(export("vit_tiny", tmp_path), batch=2))
    reference = compile_graph(trace(*get_model("vit_tiny", batch=2)))
    assert graph.total_macs == reference.total_macs
    assert graph.total_params == reference.total_params


def test_an_onnx_model_is_simulated_without_importing_torch(tmp_path: Path) -> None:
    import subprocess

    weight = helper.make_tensor("w", TensorProto.FLOAT, [8, 3, 3, 3], [0.0] * 216)
    path = tmp_path / "conv.onnx"
    onnx.save(_conv_model(weight), str(path))
    runner = ("import sys; sys.modules['torch'] = None\n"
              "from systolab.cli import main\n"
              "sys.exit(main(sys.argv[1:]))")
    for command in ("inspect", "simulate", "costs"):
        extra = ["--out", str(tmp_path / "costs")] if command == "costs" else []
        done = subprocess.run([sys.executable, "-c", runner, command, str(path), *extra],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, (command, done.stderr)


def test_qonnx_quantizers_give_bits_binary_included(tmp_path: Path) -> None:
    """Quant with a bit-width input (Brevitas/FINN export) on the activation and the weight,
    and BipolarQuant (binary) on a second layer's weight."""
    domain = "qonnx.custom_op.general"
    w1 = helper.make_tensor("w1", TensorProto.FLOAT, [8, 3, 3, 3], [0.5] * 216)
    init = [helper.make_tensor(n, TensorProto.FLOAT, [], [v]) for n, v in
            (("s", 0.1), ("z", 0.0), ("b4", 4.0), ("b2", 2.0))]
    init.append(helper.make_tensor("w2", TensorProto.FLOAT, [8, 8, 1, 1], [0.5] * 64))
    nodes = [
        helper.make_node("Quant", ["x", "s", "z", "b4"], ["xq"], name="quant_x", domain=domain,
                         signed=0, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Quant", ["w1", "s", "z", "b2"], ["w1q"], name="quant_w1",
                         domain=domain, signed=1, narrow=1, rounding_mode="ROUND"),
        helper.make_node("Conv", ["xq", "w1q"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("BipolarQuant", ["w2", "s"], ["w2q"], name="bin_w2", domain=domain),
        helper.make_node("Conv", ["c", "w2q"], ["y"], name="conv2"),
    ]
    model = _conv_model(w1, nodes, init)
    model.opset_import.append(helper.make_opsetid(domain, 1))
    path = tmp_path / "qonnx.onnx"
    onnx.save(model, str(path))
    conv1, conv2 = load_onnx(path).compute_ops()
    assert (conv1.precision.w_bits, conv1.precision.a_bits) == (2, 4)
    assert conv2.precision.w_bits == 1 and conv2.output.shape == (1, 8, 16, 16)


def test_the_api_simulates_an_onnx_file_as_the_cli_does(tmp_path: Path) -> None:
    import systolab

    path = export("lenet5", tmp_path)
    by_file = systolab.simulate_model(str(path), "edge_int8", batch=2)
    by_name = systolab.simulate_model("lenet5", "edge_int8", batch=2)
    assert by_file.stats.total.cycles == by_name.stats.total.cycles
    assert by_file.name == "lenet5.onnx"


def test_a_policy_file_names_onnx_layers_by_node_name(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("layers:\n  /conv2/Conv: {w_bits: 4, a_bits: 6}\n  /fc1/Gemm: {keep: 0.5}\n")
    from systolab.model_loader import load_graph

    graph = load_graph(str(export("lenet5", tmp_path)), policy=policy)
    ops = {op.name: op for op in graph.compute_ops()}
    assert (ops["/conv2/Conv"].precision.w_bits, ops["/conv2/Conv"].precision.a_bits) == (4, 6)
    assert ops["/conv1/Conv"].precision.w_bits == 8
    assert ops["/fc1/Gemm"].sparsity.kept_out_channels == 60
