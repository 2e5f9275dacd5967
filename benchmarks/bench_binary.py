"""Binary and ternary LeNet-5 on MNIST: accuracy after fine-tuning, and what they cost on an
XNOR-popcount array against 8 bits on an int8 array and w1a1 on Loom.

    .venv/bin/python benchmarks/bench_binary.py [--steps 1000] [--lr 3e-4]

Models (first and last layers at 8 bits, as XNOR-Net and BNN keep them): uniform 8-bit;
binary weights (``w_bits: 1``, XNOR-Net's BWN) with 8-bit inputs; ternary weights (TWN) with
8-bit inputs; fully binary (``w_bits: 1, a_bits: 1``, XNOR-Net / BNN). Each is compressed from
the trained model and fine-tuned for ``--steps`` Adam steps at ``--lr`` (the 8-bit model too,
so all compare after the same training); accuracy on MNIST's first 2,000 test images.
Hardware: each policy on ``xnor_zynq7020`` (8x8 XNOR-popcount PEs of 64 lanes), the 8-bit
model on ``edge_int8`` and ``fpga_zynq7020``, the fully binary one on ``loom`` (1x1-bit
serial lanes): cycles, latency, energy and the speedup/energy saving over 8 bits on the
same accelerator.
"""

from __future__ import annotations

import argparse
import time

import torch

from compiler.compression import compress
from compiler.policy import Policy
from hwsim import load_arch
from systolab.search.costs import CostModel
from systolab.search.tasks import get_task

MIDDLE = ("conv2", "fc1", "fc2")
POLICIES = {
    "8-bit": {},
    "binary weights (w1 a8)": {n: {"w_bits": 1} for n in MIDDLE},
    "ternary weights (w2t a8)": {n: {"ternary": True} for n in MIDDLE},
    "fully binary (w1 a1)": {n: {"w_bits": 1, "a_bits": 1} for n in MIDDLE},
}
ARCHS = ("xnor_zynq7020", "fpga_zynq7020", "edge_int8", "loom")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=3e-4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task = get_task("mnist")
    net = task.pretrained()
    calibration = task.calibration_batch()
    print(f"LeNet-5 on MNIST: float {100 * task.evaluate(net):.2f}%; each policy fine-tuned "
          f"{args.steps} steps at lr {args.lr:g}")
    print(f"{'policy':26} {'before':>7} {'after':>7} {'tune s':>6}")
    policies = {}
    for name, layers in POLICIES.items():
        policy = Policy.from_dict({"default": {"w_bits": 8, "a_bits": 8}, "layers": layers})
        model = compress(net, task.example_input, policy, calibration=calibration)
        before = task.evaluate(model)
        t0 = time.perf_counter()
        task.finetune(model, args.steps, args.lr)
        after = task.evaluate(model)
        policies[name] = policy
        print(f"{name:26} {100 * before:6.2f}% {100 * after:6.2f}% {time.perf_counter() - t0:6.1f}")

    print(f"\n{'accelerator':15} {'policy':26} {'cycles':>9} {'ms':>8} {'energy uJ':>9} "
          f"{'speedup':>7} {'energy':>7}")
    for arch_name in ARCHS:
        costs = CostModel.from_model(net, task.example_input, load_arch(arch_name), name="lenet5")
        base = costs.evaluate(policies["8-bit"])
        for name, policy in policies.items():
            if arch_name in ("fpga_zynq7020", "edge_int8") and name != "8-bit":
                continue  # int8 PEs: narrower operands save traffic, not time
            if arch_name == "loom" and name not in ("8-bit", "fully binary (w1 a1)"):
                continue
            c = costs.evaluate(policy)
            print(f"{arch_name:15} {name:26} {c.cycles:9,} {c.latency_ms:8.4f} "
                  f"{c.energy_uj:9.3f} {base.seconds / c.seconds:6.2f}x "
                  f"{base.energy_pj / c.energy_pj:6.2f}x")


if __name__ == "__main__":
    main()
