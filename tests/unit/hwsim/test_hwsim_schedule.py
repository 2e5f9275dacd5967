"""hwsim._schedule: the schedule of a prefix is cut from the schedule of the whole run (waits
and DRAM positions come from the periodic pattern, computed once per phase and shifted)."""

from __future__ import annotations

import pytest

from hwsim._schedule import build, estimate_reach
from hwsim.config import load_arch
from hwsim.isa import Compute, Load, Run, Store, Vector, latest_instance

ARCH = load_arch("edge_int8")
Kt = 4
FULL, EDGE = (0, Kt - 1), (Kt - 1, Kt)
RUNS = {
    "k edge": Run((Load("weight", 2048, every=Kt, window=FULL),
                   Load("weight", 640, every=Kt, window=EDGE),
                   Load("input", 8192, every=Kt, window=FULL),
                   Load("input", 2560, every=Kt, window=EDGE),
                   Compute("ws", 64, 16, 16, every=Kt, window=FULL, deps=(0, 2)),
                   Compute("ws", 64, 5, 16, every=Kt, window=EDGE, deps=(1, 3)),
                   Vector("relu", 1024, every=Kt, window=EDGE, deps=(5,)),
                   Store(8192, every=Kt, deps=(6,))), count=Kt * 10),
    "weight reuse": Run((Load("weight", 2048, every=3), Load("input", 8192),
                         Compute("ws", 64, 16, 16, deps=(0, 1)),
                         Store(8192, every=6, window=(3, 6), deps=(2,))), count=60),
}


@pytest.mark.parametrize("name", sorted(RUNS))
@pytest.mark.parametrize("periods", [1, 2, 5])
def test_prefix_schedule_is_cut_from_the_whole_run(name, periods):
    run = RUNS[name]
    n = periods * run.period
    part = build((run,), [n], ARCH, "native").keyed()
    whole = build((run,), [run.count], ARCH, "native").keyed()
    inside = set(part.deps)
    assert inside == {k for k in whole.deps if k[1] < n}
    for seq in ("array", "vector", "loads", "stores", "order"):
        assert getattr(part, seq) == [k for k in getattr(whole, seq) if k in inside], seq
    assert part.deps == {k: whole.deps[k] for k in inside}
    assert part.out == {k: v for k, v in whole.out.items() if k in inside}
    # each instance waits for the latest instance of each dependency (hwsim.isa)
    for (r, i, b), waits in whole.deps.items():
        want = [(r, latest_instance(run.body[d], i), d) for d in run.body[b].deps]
        assert waits == [w for w in want if w[1] >= 0]
    # a load's slot waits for readers inside the prefix: those of the whole run, or (at the
    # prefix's end) the last ones before it
    for key, waits in part.slot.items():
        if all(w[1] < n for w in whole.slot[key]):
            assert waits == whole.slot[key]
        else:
            assert all(w[1] < n for w in waits)


@pytest.mark.parametrize("slots", [2, 3, 6])
def test_a_load_writes_the_slot_of_the_instance_slots_back(slots):
    """``Load.slots``: instance ``j`` of a stream waits for the readers of instance
    ``j - slots``, and the DRAM channel takes it up to ``slots - 1`` loads ahead."""
    run = Run((Load("weight", 2048, slots=slots), Load("input", 8192),
               Compute("ws", 64, 16, 16, deps=(0, 1)), Store(8192, deps=(2,))), count=12)
    sched = build((run,), [run.count], ARCH, "native").keyed()
    for i in range(run.count):
        want = [(0, i - slots, 2)] if i >= slots else []
        assert sched.slot[0, i, 0] == want
        assert sched.slot[0, i, 1] == ([(0, i - 2, 2)] if i >= 2 else [])
    weights = [k for k in sched.order if k[2] == 0]
    assert weights == [(0, i, 0) for i in range(run.count)]
    # the weight load of iteration i is placed with the input load of iteration i - slots + 2
    # (same position; ties go to the earlier iteration)
    order = {k: j for j, k in enumerate(sched.order)}
    for i in range(slots, run.count - 1):
        assert order[0, i, 0] < order[0, i - slots + 3, 1]
        assert slots == 2 or order[0, i - slots + 2, 1] < order[0, i, 0]


@pytest.mark.parametrize("name", sorted(RUNS))
@pytest.mark.parametrize("periods", [1, 2, 3, 5])
def test_reach_estimated_from_the_templates_equals_the_built_schedules(name, periods):
    """The engine sizes its first prefix with :func:`estimate_reach` instead of building a
    probe schedule: for a run alone, it is the reach measured on the schedule."""
    run = RUNS[name]
    counts = [periods * run.period]
    assert estimate_reach((run,), counts, ARCH, "native") == \
        tuple(build((run,), counts, ARCH, "native").reach)


def test_reach_estimate_sizes_resnet18_prefixes_as_the_probe_did():
    """On every layer of ResNet-18 (several runs each, prefetch across runs), the estimate
    asks for the same number of periods as the schedule of the probe prefix, for the waits
    within each run (the next runs' transfers at a run's end are measured, not estimated)."""
    from compiler.frontend.pytorch import trace
    from compiler.mapping import map_model
    from compiler.passes import compile_graph
    from systolab.zoo import get_model

    program = map_model(compile_graph(trace(*get_model("resnet18"))), ARCH).program
    for layer in program.layers:
        counts = [min(r.count // r.period, 3) * r.period for r in layer.runs]
        built = build(layer.runs, counts, ARCH, "native").within
        estimated = estimate_reach(layer.runs, counts, ARCH, "native")
        for run, a, b in zip(layer.runs, built, estimated, strict=True):
            assert [-(-x // run.period) for x in a] == [-(-x // run.period) for x in b], \
                layer.name


def test_ids_are_dense_and_waits_land_on_instances_of_the_same_run():
    """Ids are ``bases[r] + i * len(body) + b``; every wait is an offset from its waiter to
    an instance that exists, in the same run (:mod:`hwsim._schedule`)."""
    runs = (RUNS["k edge"], RUNS["weight reuse"])
    counts = [2 * run.period for run in runs]
    sched = build(runs, counts, ARCH, "native")
    instances = set(sched.instances())
    assert len(instances) == len(sched.array) + len(sched.vector) + len(sched.order)
    for x in instances:
        r, i, b = sched.key(x)
        assert sched.id(r, i, b) == x and i < counts[r] and b < len(runs[r].body)
        for waits in (sched.deps[x], sched.slot[x] or (), sched.out[x]):
            for d in waits:
                assert x + d in instances and sched.key(x + d)[0] == r
    assert sched.slot[sched.loads[0]] is not None and sched.slot[sched.array[0]] is None
