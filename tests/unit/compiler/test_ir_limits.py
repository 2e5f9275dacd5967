"""Sizes are bounded before anything is expanded: a tensor beyond 2^48 elements (an absurd
batch) or a feature map beyond 65,536 on a side (a typo in a topology row) is refused when the
op is built, with a message naming the layer and the limit, instead of mapping for minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import IRError
from compiler.frontend.scalesim import load_scalesim_topology
from systolab.model_loader import load_graph

HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, " \
         "Num Filter, Strides,\n"


def topology(tmp_path: Path, side: int) -> Path:
    path = tmp_path / f"side{side}.csv"
    path.write_text(HEADER + f"Big, {side}, {side}, 3, 3, 8, 8, 1,\n")
    return path


def test_a_feature_map_beyond_65536_on_a_side_is_refused_naming_the_layer(tmp_path: Path) -> None:
    with pytest.raises(IRError, match=r"conv2d 'Big': its output feature map \(99998, 99998\) "
                                      r"is larger than 65,536 on a side"):
        load_scalesim_topology(topology(tmp_path, 100_000))
    assert load_scalesim_topology(topology(tmp_path, 4_098))  # a 16-megapixel map is fine


def test_a_tensor_beyond_2_to_the_48_elements_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IRError, match=r"its output \(1, 8, 1000000000, 1000000000\) holds "
                                      r"8e\+18 elements, more than 2.81e\+14"):
        load_scalesim_topology(topology(tmp_path, 10**9))


def test_an_absurd_batch_is_refused_by_size() -> None:
    # the CLI bounds --batch at 10^9; the API reaches the tensor limit
    with pytest.raises(IRError, match=r"holds 7.84e\+14 elements, more than 2.81e\+14 .* reduce "
                                      r"the batch"):
        load_graph("lenet5", batch=10**12)
