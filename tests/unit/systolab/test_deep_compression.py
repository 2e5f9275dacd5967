"""Deep Compression end to end: the storage of every stage counted by hand on a tiny model,
the errors a task measures, the simulator's view of the result, and bad settings."""

from __future__ import annotations

import json
from collections import OrderedDict

import pytest
import torch
from torch import nn

from compiler.errors import PolicyError
from systolab.deep_compression import STAGES, LayerStorage, deep_compression, layer_storage
from systolab.search.errors import TaskError
from systolab.search.tasks import get_task


def tiny() -> nn.Sequential:
    """fc1 (2 x 4) is pruned to half; fc2 (3 x 2) stays dense."""
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(4, 2, bias=False), relu=nn.ReLU(),
                                      fc2=nn.Linear(2, 3, bias=False)))
    with torch.no_grad():
        model.fc1.weight.copy_(torch.tensor([[4.0, 0.1, 0.2, 0.3], [0.4, 0.5, 3.0, 2.0]]))
        model.fc2.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    return model.eval()


def test_stage_sizes_of_a_tiny_model_by_hand() -> None:
    model = tiny()
    report = deep_compression(model, torch.zeros(1, 4), prune={"fc1": 0.5},
                              bits={"fc1": 1, "fc2": 2}, index_bits={"fc1": 2, "fc2": 2})
    fc1, fc2 = report.layers
    # fc1 keeps 4.0, 0.5, 3.0, 2.0 at flat positions 0, 5, 6, 7. 2-bit skips count at most 3
    # zeros; 4 lie between positions 0 and 5, so a filler goes at 4: entries 0, [4], 5, 6, 7
    # with skips 0, 3, 0, 0, 0.
    assert (fc1.weights, fc1.kept, fc1.fillers, fc1.stored) == (8, 4, 1, 5)
    assert fc1.dense_bits == 8 * 32
    assert fc1.pruned_bits == 5 * 32 + 5 * 2 == 170
    assert fc1.shared_bits == 5 * 1 + 5 * 2 + 2 * 32 == 79  # 1-bit codes, 2 centroids
    # k-means from 0.5 and 4.0 settles at 1.25 {0.5, 2.0} and 3.5 {3.0, 4.0}: the weight stream
    # is 1, filler, 0, 1, 0. Huffman on {1: 2, filler: 1, 0: 2}: 1 + 2 + 2 bits per symbol,
    # 8 bits; the skips {0: 4, 3: 1} take a bit each, 5 bits.
    assert fc1.huffman_weight_bits == 8 and fc1.huffman_index_bits == 5
    assert fc1.huffman_bits == 8 + 5 + 64 == 77
    # fc2 has no zeros: stored dense, no index. 1..6 in 4 clusters: {1}, {2, 3}, {4, 5}, {6};
    # codes 0 1 1 2 2 3 Huffman-code to 2 bits each.
    assert (fc2.stored, fc2.fillers, fc2.index_bits, fc2.index_stream_bits) == (6, 0, 0, 0)
    assert fc2.pruned_bits == fc2.dense_bits == 192
    assert fc2.shared_bits == 6 * 2 + 4 * 32 == 140
    assert fc2.huffman_bits == 12 + 128 == 140
    total = report.total
    assert [total.bits_at(s) for s in STAGES] == [448, 362, 219, 217]
    assert total.ratio("huffman") == pytest.approx(448 / 217)
    assert (total.bits, total.kind) == (None, None)
    shared = report.model.fc2.parametrizations.weight[0]
    assert shared.centroids.tolist() == [1.0, 2.5, 4.5, 6.0]
    # No task: no errors measured. The caller's model is left as it was.
    assert report.error_pct == {} and report.untuned_error_pct == {}
    assert torch.equal(model.fc1.weight, tiny().fc1.weight)
    assert not hasattr(model.fc1, "parametrizations")


def test_the_compressed_model_is_what_the_simulator_reads() -> None:
    report = deep_compression(tiny(), torch.zeros(1, 4), prune={"fc1": 0.5},
                              bits={"fc1": 1, "fc2": 2})
    assert report.graph.op("fc1").precision.w_bits == 1
    assert report.graph.op("fc1").sparsity.density == 0.5
    assert report.graph.op("fc2").precision.w_bits == 2
    payload = json.loads(json.dumps(report.as_dict()))
    assert payload["traced"]["fc1"] == {"w_bits": 1, "density": 0.5}
    assert payload["total"]["stage_bits"]["dense"] == 448
    assert set(payload["layers"][0]["ratio"]) == set(STAGES)


def test_defaults_follow_the_paper_per_layer_kind() -> None:
    model = nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 4, 3), flat=nn.Flatten(),
                                      fc=nn.Linear(4 * 6 * 6, 10)))
    report = deep_compression(model, torch.zeros(1, 1, 8, 8), prune={"conv": 0.5, "fc": 0.1})
    conv, fc = report.layers
    assert (conv.kind, conv.bits, conv.index_bits) == ("conv", 8, 8)  # Section 3 and Section 2
    assert (fc.kind, fc.bits, fc.index_bits) == ("fc", 5, 5)
    assert conv.kept == 18 and fc.kept == 144


def test_a_task_measures_every_stage_after_its_finetuning() -> None:
    task = get_task("digits")
    net = task.pretrained()
    report = deep_compression(net, task.example_input, prune={"conv2": 0.5, "fc1": 0.2},
                              bits={"conv1": 6, "conv2": 5, "fc1": 4, "fc2": 5}, task=task,
                              finetune_steps=30, prune_rounds=2)
    e, u = report.error_pct, report.untuned_error_pct
    assert list(e) == list(STAGES) and set(u) == {"pruned", "shared"}
    assert e["huffman"] == e["shared"]  # lossless
    assert e["dense"] < 5 and e["shared"] < 10
    assert report.layers[1].kept == 2304 and report.layers[2].kept == 6554  # the final fractions
    assert not report.model.training


def test_finetuning_needs_a_task() -> None:
    with pytest.raises(TaskError, match="fine-tuning needs a task"):
        deep_compression(tiny(), torch.zeros(1, 4), finetune_steps=10)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"prune": {"fc3": 0.5}}, r"^cannot prune layer 'fc3': the model has no such layer "
                              r"\(did you mean 'fc2', 'fc1'\?\)$"),
    ({"prune": {"relu": 0.5}}, r"^cannot prune layer 'relu': it is a ReLU, not a conv or linear "
                               r"layer$"),
    ({"bits": {"fc9": 4}}, r"^cannot set the bits of layer 'fc9': the model has no such layer"),
    ({"index_bits": {"fc0": 4}}, r"^cannot set the index bits of layer 'fc0': the model has no "),
    ({"prune": {"fc1": 0}}, r"^keep fraction of layer 'fc1' must be a number in \(0, 1\], not 0$"),
    ({"prune": {"fc1": 1.5}}, r"^keep fraction of layer 'fc1' must be a number in \(0, 1\], "
                              r"not 1.5$"),
    ({"prune": {"fc1": True}}, r"^keep fraction of layer 'fc1' must be a number in \(0, 1\], "),
    ({"bits": {"fc2": 17}}, r"^bits of layer 'fc2' must be an integer from 1 to 16, not 17$"),
    ({"bits": {"fc2": 0}}, r"^bits of layer 'fc2' must be an integer from 1 to 16, not 0$"),
    ({"index_bits": {"fc1": 4.0}}, r"^index bits of layer 'fc1' must be an integer from 1 to 16, "
                                   r"not 4.0$"),
    ({"default_bits": {"fc": 5}}, r"^default bits of conv layers must be an integer from 1 to 16, "
                                  r"not None$"),
    ({"finetune_steps": -1}, r"^finetune_steps must be a non-negative integer, not -1$"),
    ({"prune_rounds": 0}, r"^prune_rounds must be a positive integer, not 0$"),
    ({"lr": float("nan")}, r"^lr must be a positive finite number, not nan$"),
])
def test_bad_settings_name_the_layer_and_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        deep_compression(tiny(), torch.zeros(1, 4), **kwargs)  # type: ignore[arg-type]


def test_a_model_without_conv_or_linear_layers_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"^deep compression needs conv or linear layers; ReLU has none$"):
        deep_compression(nn.ReLU(), torch.zeros(1, 4))


def test_total_of_no_layers_and_unknown_stage() -> None:
    empty = LayerStorage.total([])
    assert empty.dense_bits == 0 and empty.ratio("huffman") == 0.0
    with pytest.raises(ValueError, match=r"^stage must be one of dense, pruned, shared, huffman, not 'zip'$"):
        empty.bits_at("zip")


def test_only_a_shared_layer_can_be_sized() -> None:
    with pytest.raises(PolicyError, match=r"^layer 'fc' must have shared weights \(share_weights\) to "
                                          r"be sized, not a plain weight$"):
        layer_storage("fc", nn.Linear(2, 2), keep=1.0, index_bits=5)


def test_progress_is_reported_after_each_round_and_stage() -> None:
    import torch
    from torch import nn

    seen: list[tuple[int, int, str]] = []
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 2))
    deep_compression(model, torch.zeros(1, 16), prune={"1": 0.5}, bits={"1": 3, "3": 3},
                     prune_rounds=3, on_progress=lambda *step: seen.append(step))
    assert seen == [(1, 5, "pruning round 1 of 3"), (2, 5, "pruning round 2 of 3"),
                    (3, 5, "pruned"), (4, 5, "shared"), (5, 5, "Huffman-coded")]
