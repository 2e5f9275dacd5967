"""Weight sharing by k-means (Deep Compression, ICLR 2016, Section 3): linear initialization,
Lloyd's fixpoint, at most 2^bits values with pruned weights staying zero, the centroid gradient
of the paper's Eq. 3, and what the front end reads from a shared layer."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from compiler.compression import SharedWeight, kmeans_1d, prune_unstructured, share_weights
from compiler.errors import PolicyError
from compiler.frontend.annotations import read_sparsity, read_weight_bits
from compiler.frontend.pytorch import trace


def _values(n: int = 2000, seed: int = 0) -> torch.Tensor:
    # Heavy tails, like trained weights: a few large values the linear start must not lose.
    return torch.randn(n, generator=torch.Generator().manual_seed(seed)) ** 3


def test_linear_initialization_spans_min_to_max() -> None:
    x = _values()
    centroids, index = kmeans_1d(x, 8, iterations=0)
    expected = torch.linspace(float(x.min()), float(x.max()), 8, dtype=torch.float64).float()
    assert torch.equal(centroids, expected)
    nearest = (x.double()[:, None] - centroids.double()[None, :]).abs().argmin(dim=1)
    assert torch.equal(index, nearest)


def test_lloyd_reaches_a_fixpoint_deterministically() -> None:
    x = _values()
    centroids, index = kmeans_1d(x, 16)
    again, index_again = kmeans_1d(x.clone(), 16)
    assert torch.equal(centroids, again) and torch.equal(index, index_again)
    assert torch.all(centroids[1:] >= centroids[:-1])  # 1-D Lloyd keeps the order
    # Each value sits at its nearest centroid, and each used centroid is the mean of its values.
    distance = (x.double()[:, None] - centroids.double()[None, :]).abs()
    assert torch.allclose(distance.gather(1, index[:, None]).squeeze(1), distance.min(dim=1).values)
    for k in index.unique().tolist():
        assert centroids[k].item() == pytest.approx(x[index == k].double().mean().item(), rel=1e-6)
    # The extremes keep a centroid each (the reason for the linear start, Section 3.2).
    assert index[x.argmax()] == 15 and index[x.argmin()] == 0


def test_kmeans_edge_cases() -> None:
    centroids, index = kmeans_1d(torch.zeros(0), 4)
    assert torch.equal(centroids, torch.zeros(4)) and index.numel() == 0
    centroids, index = kmeans_1d(torch.full((5,), 0.25), 4)  # one distinct value
    assert centroids[index].tolist() == [0.25] * 5
    with pytest.raises(PolicyError, match=r"^clusters must be a positive integer, not 0$"):
        kmeans_1d(torch.ones(3), 0)


def _pruned_linear(density: float = 0.3, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(40, 20)
    return prune_unstructured(layer, density)  # type: ignore[return-value]


@pytest.mark.parametrize("bits", [1, 2, 3, 5])
def test_shared_weights_take_at_most_two_to_the_bits_values_and_zeros_stay(bits: int) -> None:
    layer = _pruned_linear()
    mask = layer.weight_mask.clone()
    share_weights(layer, bits)
    assert not hasattr(layer, "weight_orig")  # the torch.nn.utils.prune mask became permanent
    shared = layer.parametrizations.weight[0]
    assert isinstance(shared, SharedWeight) and torch.equal(shared.mask, mask)
    # Training moves the centroids only: the pruned weights stay exactly zero.
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        layer(torch.randn(8, 40)).pow(2).sum().backward()
        opt.step()
    weight = layer.weight.detach()
    assert torch.all(weight[mask == 0] == 0)
    assert weight[mask != 0].unique().numel() <= 2**bits
    assert not layer.parametrizations.weight.original.requires_grad


def test_centroids_receive_the_summed_gradients_of_their_weights() -> None:
    """Eq. 3: dL/dC_k = sum of dL/dW_ij over the weights of index k (pruned ones excluded)."""
    layer = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.1, 0.0, 0.9], [1.0, 0.12, 0.0]]))
    share_weights(layer, bits=1)
    shared = layer.parametrizations.weight[0]
    # Start 0.1 and 1.0 (min, max); {0.1, 0.12} and {0.9, 1.0} settle at 0.11 and 0.95.
    assert shared.centroids.tolist() == pytest.approx([0.11, 0.95])
    assert shared.index.tolist() == [[0, 0, 1], [1, 0, 0]]
    x, g = torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([1.0, 10.0])
    (layer(x) @ g).sum().backward()
    # dL/dW_ij = g_i x_j. Centroid 0: W00 (1 * 1) + W11 (10 * 2) = 21; centroid 1: W02 (1 * 3) +
    # W10 (10 * 1) = 13; W01 and W12 are pruned and count for nothing.
    assert shared.centroids.grad is not None
    assert shared.centroids.grad.tolist() == [21.0, 13.0]
    assert layer.parametrizations.weight.original.grad is None


def test_the_front_end_reads_the_bits_and_density_of_a_shared_layer() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(OrderedDict(fc1=nn.Linear(16, 32), relu=nn.ReLU(),
                                      fc2=nn.Linear(32, 4))).eval()
    prune_unstructured(model.fc1, 0.25)
    share_weights(model.fc1, 3)
    share_weights(model.fc2, 6)  # not pruned: dense
    assert read_weight_bits(model.fc1) == 3
    assert read_sparsity(model.fc1).density == pytest.approx(0.25)
    assert read_sparsity(model.fc1).pattern == "unstructured"
    graph = trace(model, torch.zeros(1, 16))
    assert graph.op("fc1").precision.w_bits == 3
    assert graph.op("fc1").sparsity.density == pytest.approx(128 / 512)
    assert graph.op("fc2").precision.w_bits == 6 and graph.op("fc2").sparsity.density == 1.0


def test_sharing_again_clusters_the_shared_weight() -> None:
    layer = _pruned_linear()
    share_weights(layer, 5)
    zeros = layer.weight.detach() == 0
    share_weights(layer, 2)
    assert layer.parametrizations.weight[0].bits == 2
    assert torch.equal(layer.weight.detach() == 0, zeros)
    assert layer.weight.detach()[~zeros].unique().numel() <= 4


def test_bad_requests_are_refused() -> None:
    with pytest.raises(PolicyError, match=r"^bits must be an integer from 1 to 16 for weight sharing, "
                                          r"not 17$"):
        share_weights(nn.Linear(2, 2), 17)
    with pytest.raises(PolicyError, match=r"^weight sharing applies to conv and linear layers, not ReLU$"):
        share_weights(nn.ReLU(), 4)
    with pytest.raises(PolicyError, match=r"^centroids must have shape \(4,\) for 2 bits, not \(3,\)$"):
        SharedWeight(2, torch.zeros(3), torch.zeros(2, dtype=torch.int32), torch.ones(2))
