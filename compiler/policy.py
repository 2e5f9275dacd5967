"""Compression policies: per-layer bits and output-channel keep ratios, by the user's names.

A policy file (YAML or JSON) reads::

    default: {w_bits: 8, a_bits: 8}
    layers:
      layer1.0.conv1: {w_bits: 4, a_bits: 6, keep: 0.75}   # keep = fraction of output channels
      layer1.0.conv2: {w_bits: 1, a_bits: 1}   # binary weights and inputs (XNOR-Net, BNN)
      layer1.1.conv1: {ternary: true}          # weights {-a, 0, a} in 2 bits (TWN)
      layer2.0.conv1: {nm: "2:4"}              # 2 of every 4 weights kept (N:M sparsity)

``default`` applies to every compute op, ``layers`` override it per op. A policy is applied on
top of what the model itself says (its fake-quant bits and pruning masks).

>>> p = Policy.from_dict({"layers": {"fc": {"w_bits": 4}}})
>>> p.layers["fc"].w_bits
4
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from compiler.errors import PolicyError, closest
from compiler.ir import COMPUTE_OPS, MAX_BITS, MAX_NM_GROUP, Graph, OpKind
from hwsim.fields import shown
from hwsim.yamlfile import read_yaml

__all__ = ["LayerPolicy", "Policy", "apply_policy", "load_policy", "parse_nm"]

_LAYER_KEYS = ("w_bits", "a_bits", "keep", "ternary", "nm")


def parse_nm(text: object, where: str) -> tuple[int, int]:
    """``"2:4"`` as ``(2, 4)``; a :class:`PolicyError` naming ``where`` otherwise.

    >>> parse_nm("2:4", "nm")
    (2, 4)
    """
    expectation = f"'N:M' with 0 < N < M <= {MAX_NM_GROUP}, e.g. '2:4'"
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise PolicyError(f"{where} must be {expectation}, not {shown(text)}")
    n, m = (int(p) for p in parts)
    if not 0 < n < m <= MAX_NM_GROUP:
        raise PolicyError(f"{where} must be {expectation}, not {shown(text)}")
    return n, m


@dataclass(frozen=True, slots=True)
class LayerPolicy:
    """What a policy says of one layer; ``None`` leaves the model's own value."""

    w_bits: int | None = None
    a_bits: int | None = None
    keep: float | None = None
    ternary: bool | None = None  # weights {-alpha, 0, alpha}: implies (and needs) w_bits 2
    nm: tuple[int, int] | None = None  # N:M structured sparsity, e.g. (2, 4)

    def __post_init__(self) -> None:
        if self.ternary:
            if self.w_bits is None:
                object.__setattr__(self, "w_bits", 2)  # frozen: set once, here
            elif self.w_bits != 2:
                raise PolicyError(f"ternary weights take w_bits 2, not {shown(self.w_bits)}")

    @classmethod
    def from_dict(cls, data: Any, where: str) -> LayerPolicy:
        if not isinstance(data, Mapping):
            raise PolicyError(f"{where} must be a mapping of {', '.join(_LAYER_KEYS)}, not {shown(data)}")
        unknown = sorted(set(data) - set(_LAYER_KEYS))
        if unknown:
            raise PolicyError(
                f"{where}: unknown key {unknown[0]!r} (expected one of: {', '.join(_LAYER_KEYS)})"
            )
        for key in ("w_bits", "a_bits"):
            bits = data.get(key)
            if bits is not None and (
                not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= MAX_BITS
            ):
                raise PolicyError(f"{where}.{key} must be an integer from 1 to {MAX_BITS}, not {shown(bits)}")
        keep = data.get("keep")
        if keep is not None and (
            isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep <= 1
        ):
            raise PolicyError(f"{where}.keep must be a number in (0, 1], not {shown(keep)}")
        ternary = data.get("ternary")
        if ternary is not None and not isinstance(ternary, bool):
            raise PolicyError(f"{where}.ternary must be true or false, not {shown(ternary)}")
        if ternary and data.get("w_bits") not in (None, 2):
            raise PolicyError(f"{where}.ternary: ternary weights take w_bits 2, not "
                              f"{shown(data.get('w_bits'))}")
        nm = data.get("nm")
        if nm is not None:
            nm = parse_nm(nm, f"{where}.nm")
        return cls(data.get("w_bits"), data.get("a_bits"),
                   float(keep) if keep is not None else None, ternary or None, nm)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in _LAYER_KEYS if getattr(self, k) is not None}
        if self.nm is not None:
            out["nm"] = f"{self.nm[0]}:{self.nm[1]}"
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    default: LayerPolicy = LayerPolicy()
    layers: Mapping[str, LayerPolicy] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_dict(cls, data: Any, source: str = "policy") -> Policy:
        if not isinstance(data, Mapping):
            raise PolicyError(f"{source} must be a mapping with 'default' and/or 'layers', not {shown(data)}")
        unknown = sorted(set(data) - {"default", "layers"})
        if unknown:
            raise PolicyError(f"{source}: unknown key {unknown[0]!r} (expected 'default' or 'layers')")
        default = LayerPolicy.from_dict(data.get("default") or {}, f"{source}: default")
        if default.keep is not None:
            raise PolicyError(f"{source}: default.keep is not allowed; give keep ratios per layer")
        layers = data.get("layers") or {}
        if not isinstance(layers, Mapping):
            raise PolicyError(f"{source}: layers must be a mapping of layer name to settings, "
                              f"not {shown(layers)}")
        parsed = {str(n): LayerPolicy.from_dict(v, f"{source}: layers.{n}") for n, v in layers.items()}
        return cls(default, MappingProxyType(parsed))

    def to_dict(self) -> dict[str, Any]:
        return {"default": self.default.to_dict(),
                "layers": {n: lp.to_dict() for n, lp in self.layers.items()}}


def load_policy(path: str | Path) -> Policy:
    """Read a policy from a YAML or JSON file; errors name the file and the bad entry."""
    path = Path(path)
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text())
        except OSError as err:
            raise PolicyError(f"cannot read policy file {str(path)!r}: {err.strerror}") from None
        except json.JSONDecodeError as err:
            raise PolicyError(f"policy file {str(path)!r} is not valid JSON: {err}") from None
    else:
        data = read_yaml(path, "policy file", PolicyError)
    return Policy.from_dict(data if data is not None else {}, source=str(path))


def apply_policy(graph: Graph, policy: Policy) -> Graph:
    """Return a copy of ``graph`` with the policy's bits and keep ratios on its compute ops."""
    compute = {op.name: op for op in graph.compute_ops()}
    for name in policy.layers:
        if name not in compute:
            if name in graph:
                kind = graph.op(name).kind.value
                raise PolicyError(f"policy names layer {name!r}, which is a {kind} op, not a "
                                  "compute layer (conv, linear, matmul)")
            raise PolicyError(
                f"policy names layer {name!r}, which the model does not have"
                f"{closest(name, compute)}; compute layers: {_preview(compute)}"
            )
    out = graph.copy()
    for name, op in compute.items():
        lp = policy.layers.get(name, LayerPolicy())
        w_bits = lp.w_bits or policy.default.w_bits or op.precision.w_bits
        a_bits = lp.a_bits or policy.default.a_bits or op.precision.a_bits
        changes: dict[str, Any] = {"precision": type(op.precision)(w_bits, a_bits)}
        if lp.keep is not None:
            if op.kind is OpKind.MATMUL or op.kind not in COMPUTE_OPS:
                raise PolicyError(f"policy layers.{name}.keep: only conv and linear layers can be "
                                  f"channel-pruned, not a {op.kind.value}")
            if op.kind is OpKind.DEPTHWISE_CONV2D:
                raise PolicyError(f"policy layers.{name}.keep: a depthwise conv's channels follow "
                                  "its input; give the keep ratio to the layer that produces it")
            kept = max(1, math.floor(lp.keep * op.out_channels + 0.5))
            was = op.sparsity.kept_out_channels or op.out_channels
            kept = min(kept, was)
            density = op.sparsity.density * kept / was
            pattern = "channel" if op.sparsity.pattern in ("dense", "channel") else "unstructured"
            changes["sparsity"] = replace(
                op.sparsity, density=density,
                kept_out_channels=kept if kept < op.out_channels else None,
                pattern=pattern if kept < op.out_channels else op.sparsity.pattern)
        if lp.nm is not None:
            if op.kind is OpKind.MATMUL or op.kind not in COMPUTE_OPS:
                raise PolicyError(f"policy layers.{name}.nm: only conv and linear layers take "
                                  f"N:M sparsity, not a {op.kind.value}")
            n, m = lp.nm
            sparsity = changes.get("sparsity", op.sparsity)
            changes["sparsity"] = replace(sparsity, density=min(sparsity.density, n / m),
                                          pattern="unstructured", nm=lp.nm)
        out.replace_op(op.replace(**changes))
    return out


def _preview(names: Mapping[str, Any], limit: int = 6) -> str:
    listed = list(names)
    more = f", ... ({len(listed)} in all)" if len(listed) > limit else ""
    return ", ".join(listed[:limit]) + more
