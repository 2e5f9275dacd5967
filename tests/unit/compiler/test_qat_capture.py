"""torch.ao QAT models, FX mode (``prepare_qat_fx``) and eager mode (``prepare_qat``): every
layer's weight and activation bits come from its own fake-quant modules, layer by layer."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import fx, nn
from torch.ao.quantization import (
    DeQuantStub,
    FakeQuantize,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    QConfig,
    QConfigMapping,
    QuantStub,
    prepare_qat,
)
from torch.ao.quantization.quantize_fx import prepare_qat_fx

from compiler.frontend.annotations import bits_of
from compiler.frontend.pytorch import trace

# torch.ao.quantization says it is deprecated (for torchao); users still bring its models
pytestmark = pytest.mark.filterwarnings("ignore:torch.ao.quantization is deprecated")


def qconfig(a_bits: int, w_bits: int) -> QConfig:
    act = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0,
                                 quant_max=2**a_bits - 1, dtype=torch.quint8)
    weight = FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver,
                                    quant_min=-2 ** (w_bits - 1), quant_max=2 ** (w_bits - 1) - 1,
                                    dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
    return QConfig(activation=act, weight=weight)


class SmallCnn(nn.Module):
    def __init__(self, stubs: bool = False) -> None:
        super().__init__()
        self.quant, self.dequant = (QuantStub(), DeQuantStub()) if stubs else (nn.Identity(),
                                                                               nn.Identity())
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu1(self.conv1(self.quant(x)))
        x = self.relu2(self.conv2(x))
        return self.dequant(self.fc(self.flat(self.pool(x))))


def captured_bits(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, int]]:
    return {op.name: (op.precision.w_bits, op.precision.a_bits)
            for op in trace(model, x).compute_ops()}


def test_fx_mode_qat_reads_each_layers_own_fake_quantizers() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 1, 8, 8)
    mapping = (QConfigMapping().set_global(qconfig(4, 4))
               .set_module_name("conv1", qconfig(6, 5)).set_module_name("fc", qconfig(3, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_qat_fx(SmallCnn().train(), mapping, example_inputs=(x,))
        prepared(x)
    prepared.eval()
    # the oracle: each layer's weight quantizer, and the fake quantizer on its input
    expected = {}
    modules = dict(prepared.named_modules())
    for node in prepared.graph.nodes:
        module = modules.get(str(node.target)) if node.op == "call_module" else None
        if isinstance(module, nn.Conv2d | nn.Linear):
            source = node.args[0]
            while isinstance(source, fx.Node) and bits_of(modules.get(str(source.target))) is None:
                source = source.args[0]
            a_bits = bits_of(modules[str(source.target)])
            expected[str(node.target)] = (bits_of(module.weight_fake_quant), a_bits)
    # FX mode quantizes an op's output by its own qconfig: conv1's 6-bit activation setting
    # applies to conv2's input; the model input takes the global 4 bits
    assert expected == {"conv1": (5, 4), "conv2": (4, 6), "fc": (2, 3)}
    assert captured_bits(prepared, x[:1]) == expected


@pytest.mark.parametrize("stub_bits", [6, None])
def test_eager_mode_qat_reads_the_observer_that_last_quantized_each_input(
        stub_bits: int | None) -> None:
    torch.manual_seed(0)
    model = SmallCnn(stubs=True).train()
    model.qconfig = qconfig(8, 8)
    if stub_bits is None:
        model.quant.qconfig = None  # an unobserved input: activations default to 8 bits
    else:
        model.quant.qconfig = qconfig(stub_bits, 8)
    model.conv1.qconfig = qconfig(5, 7)
    model.conv2.qconfig = qconfig(4, 4)
    model.fc.qconfig = qconfig(3, 2)
    prepared = prepare_qat(model)
    x = torch.randn(2, 1, 8, 8)
    prepared(x)
    prepared.eval()
    # conv2 reads conv1's output observer (through relu1); fc reads conv2's (through relu2,
    # the pooling and the flatten): eager mode observes only the modules it swaps
    assert captured_bits(prepared, x[:1]) == {"conv1": (7, stub_bits or 8), "conv2": (4, 5),
                                              "fc": (2, 4)}
