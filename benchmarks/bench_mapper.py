"""The mapper: its time per layer, and what each objective buys on every shipped accelerator.

    .venv/bin/python benchmarks/bench_mapper.py [--quick] [--json results.json]

Table 1, mapper time: every distinct compute layer of ResNet-18, ResNet-50, MobileNetV2 and
ViT-tiny mapped on edge_int8, stripes and cloud_tpu_int8 for each objective, one call of
``map_gemm`` per layer with the interpreter warm and every mapper cache cleared (mapping,
footprints, tile timing). Target: a mean under 1 ms per distinct layer.

Table 2, objectives: latency, energy and DRAM traffic of the same four networks (batch 1)
under ``--objective latency``, ``energy`` and ``edp`` on every shipped config, simulated.
``--quick`` keeps ResNet-18 and MobileNetV2 on three configs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from compiler.frontend.pytorch import trace
from compiler.ir import COMPUTE_OPS, Gemm
from compiler.mapping import tiling
from compiler.mapping.codegen import tensor_bits
from compiler.mapping.geometry import ConvGeometry
from compiler.mapping.sparsity import sparsity_effect
from compiler.passes import compile_graph
from hwsim import load_arch
from hwsim.config import shipped_configs
from systolab.pipeline import simulate_graph
from systolab.zoo import get_model

MODELS = ("resnet18", "resnet50", "mobilenet_v2", "vit_tiny")
OBJECTIVES = tiling.OBJECTIVES


def mapper_times(graphs: dict, archs: list[str]) -> None:
    print(f"{'model':14} {'arch':16} {'layers':>6} {'mean ms':>8} {'max ms':>8}")
    means = []
    for name, graph in graphs.items():
        bits = tensor_bits(graph)
        for arch_name in archs:
            arch = load_arch(arch_name)
            calls = {}
            for op in graph.ops():
                if op.kind not in COMPUTE_OPS:
                    continue
                g = graph.record(op.name, Gemm)
                effect = sparsity_effect(op, arch)
                source = graph.inputs_of(op.name)[0]
                key = (g, op.precision.w_bits, op.precision.a_bits, bits[op.name],
                       effect.weight_word_bits, float(bits[source]), ConvGeometry.of(op))
                calls[key] = effect.k_scale
            for objective in OBJECTIVES:
                tiling.clear_caches()
                times = []
                for (g, w, a, out, ww, aw, geo), k_scale in calls.items():
                    t0 = time.perf_counter()
                    tiling.map_gemm(g, w, a, out, arch, ww, aw, geometry=geo, k_scale=k_scale,
                                    objective=objective)
                    times.append(time.perf_counter() - t0)
                means.append(statistics.mean(times))
            print(f"{name:14} {arch_name:16} {len(calls):6} {1e3 * statistics.mean(times):8.3f} "
                  f"{1e3 * max(times):8.3f}")
    print(f"mean over all: {1e3 * statistics.mean(means):.3f} ms per distinct layer")


def objectives(graphs: dict, archs: list[str]) -> dict:
    results: dict = {}
    print(f"\n{'model':14} {'arch':18} " + " ".join(
        f"{o + ' ms':>11} {o + ' uJ':>11} {'MB':>6}" for o in OBJECTIVES))
    for name, graph in graphs.items():
        for arch_name in archs:
            row = {}
            for objective in OBJECTIVES:
                sim = simulate_graph(graph, arch_name, name=name, trace=False,
                                     objective=objective)
                t = sim.stats.total
                row[objective] = {"ms": t.seconds * 1e3, "uj": t.energy_pj * 1e-6,
                                  "mb": (t.dram_read_bits + t.dram_write_bits) / 8e6}
            results[f"{name}@{arch_name}"] = row
            print(f"{name:14} {arch_name:18} " + " ".join(
                f"{row[o]['ms']:11.3f} {row[o]['uj']:11.1f} {row[o]['mb']:6.2f}"
                for o in OBJECTIVES))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="write table 2 as JSON")
    args = parser.parse_args()
    models = ("resnet18", "mobilenet_v2") if args.quick else MODELS
    graphs = {m: compile_graph(trace(*get_model(m))) for m in models}
    mapper_times(graphs, ["edge_int8", "stripes", "cloud_tpu_int8"])
    configs = ["edge_int8", "stripes", "bitfusion_eyeriss"] if args.quick else shipped_configs()
    results = objectives(graphs, configs)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
