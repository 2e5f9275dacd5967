"""A synthetic search environment: fake layers, a closed-form cost and a closed-form accuracy.

Cost (monotone in every knob, like the real one): latency ~ MACs x a_bits x kept fraction of
outputs and inputs; energy ~ MACs x w_bits x a_bits; size = params x w_bits. Accuracy falls
with fewer bits and fewer channels, each layer with its own sensitivity.
"""

from __future__ import annotations

from dataclasses import dataclass

from compiler.policy import Policy


@dataclass(frozen=True, slots=True)
class FakeLayer:
    index: int
    name: str
    kind: str
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: int
    feature_size: int
    params: int
    macs: int
    depthwise: bool


@dataclass(frozen=True, slots=True)
class FakeCost:
    cycles: int
    seconds: float
    energy_pj: float
    weight_bits: int
    macs: int


def layers() -> list[FakeLayer]:
    shapes = [(3, 16, 32), (16, 32, 16), (32, 64, 8), (64, 64, 8), (64, 128, 4), (128, 10, 1)]
    out = []
    for i, (cin, cout, size) in enumerate(shapes):
        fc = i == len(shapes) - 1
        k = 1 if fc else 3
        params = cin * cout * k * k
        out.append(FakeLayer(i, f"fc{i}" if fc else f"conv{i}", "linear" if fc else "conv2d",
                             cin, cout, (k, k), 1, size, params, params * size * size, False))
    return out


SENSITIVITY = [0.05, 0.002, 0.03, 0.001, 0.01, 0.05]


def _settings(policy: Policy, names: list[str]) -> list[tuple[int, int, float]]:
    out = []
    for name in names:
        lp = policy.layers.get(name)
        w = (lp.w_bits if lp else None) or policy.default.w_bits or 8
        a = (lp.a_bits if lp else None) or policy.default.a_bits or 8
        keep = (lp.keep if lp else None) or 1.0
        out.append((w, a, keep))
    return out


def cost(policy: Policy) -> FakeCost:
    ls = layers()
    s = _settings(policy, [layer.name for layer in ls])
    seconds = energy = 0.0
    size = macs = 0
    for i, (layer, (w, a, keep)) in enumerate(zip(ls, s, strict=True)):
        keep_in = s[i - 1][2] if i else 1.0
        m = layer.macs * keep * keep_in
        seconds += m * a / 8 * 1e-9 + layer.params * keep * w * 1e-12
        energy += m * (w * a / 64 + 0.2)
        size += int(layer.params * keep * keep_in * w)
        macs += int(m)
    return FakeCost(int(seconds * 1e9), seconds, energy, size, macs)


def accuracy(policy: Policy) -> float:
    ls = layers()
    acc = 0.99
    for sens, (w, a, keep) in zip(SENSITIVITY, _settings(policy, [layer.name for layer in ls]),
                                  strict=True):
        acc -= sens * (2.0 ** (2 - w) + 2.0 ** (2 - a)) + 4 * sens * (1 - keep) ** 2
    return max(0.1, acc)
