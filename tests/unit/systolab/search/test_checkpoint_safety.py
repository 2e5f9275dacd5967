"""A search checkpoint directory may come from anywhere: a damaged, foreign or hostile one is
refused with a message that says what to do, never followed outside the directory and never
unpickled into running code; and one output folder serves one search at a time."""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

import policy_synthetic_env as env

from compiler.policy import LayerPolicy, Policy
from systolab.search.budget import Budget
from systolab.search.checkpoint import CHECKPOINT, CheckpointError
from systolab.search.lock import OutputBusyError, exclusive
from systolab.search.loop import SearchConfig, SearchResult, run_search

BASE = env.cost(Policy(LayerPolicy(8, 8)))
CONFIG = SearchConfig("haq", Budget("latency", 0.6), episodes=3, seed=4, channel_multiple=4)
FRESH = "start fresh with another --out, or delete it"


def search(out: Path, *, resume: bool = False, config: SearchConfig = CONFIG) -> SearchResult:
    return run_search(config, layers=env.layers(), cost=env.cost, accuracy=env.accuracy,
                      reference_accuracy=0.99, baseline=BASE, out_dir=out, resume=resume)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real three-episode checkpoint of the DDPG (HAQ) agent, whose state holds numpy."""
    out = tmp_path_factory.mktemp("good")
    search(out)
    return out


def copy_of(good: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for f in good.iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    return out


def edit_record(out: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    record = json.loads((out / CHECKPOINT).read_text())
    change(record)
    (out / CHECKPOINT).write_text(json.dumps(record))


def state_file(out: Path) -> Path:
    (path,) = out.glob("search-state-*.pt")
    return path


def test_a_resumed_checkpoint_continues_the_search_it_came_from(good: Path,
                                                               tmp_path: Path) -> None:
    out = copy_of(good, tmp_path)
    first = [e["policy"] for e in json.loads((out / CHECKPOINT).read_text())["history"]]
    longer = SearchConfig("haq", Budget("latency", 0.6), episodes=5, seed=4, channel_multiple=4)
    resumed = search(out, resume=True, config=longer)
    assert [r.policy for r in resumed.history][:3] == first and len(resumed.history) == 5


def test_a_state_file_outside_the_directory_is_never_read(good: Path, tmp_path: Path) -> None:
    out = copy_of(good, tmp_path)
    outside = tmp_path / "outside.pt"
    outside.write_bytes(state_file(out).read_bytes())
    edit_record(out, lambda r: r.update(state_file="../outside.pt"))
    with pytest.raises(CheckpointError, match=r"'state_file' must be 'search-state-000003.pt' "
                                              r"\(a file in the same directory\), not '../outside.pt'"):
        search(out, resume=True)


class _Payload:
    """Unpickling this would create the marker file: a stand-in for any code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_a_state_file_that_would_run_code_is_refused_without_running_it(
        good: Path, tmp_path: Path) -> None:
    out = copy_of(good, tmp_path)
    marker = tmp_path / "code-ran"
    torch.save({"agent": {}, "rng": _Payload(marker)}, state_file(out))
    with pytest.raises(CheckpointError, match="holds more than tensors and plain values"):
        search(out, resume=True)
    assert not marker.exists()
    with state_file(out).open("wb") as fh:  # a plain pickle, not a torch zip file
        pickle.dump(_Payload(marker), fh)
    with pytest.raises(CheckpointError, match=FRESH):
        search(out, resume=True)
    assert not marker.exists()


def _truncate_state(out: Path) -> None:
    path = state_file(out)
    path.write_bytes(path.read_bytes()[:100])


DAMAGE: dict[str, tuple[Callable[[Path], Any], str]] = {
    "state truncated": (_truncate_state, "is unreadable"),
    "state missing": (lambda out: state_file(out).unlink(), "is unreadable"),
    "record truncated": (lambda out: (out / CHECKPOINT).write_text('{"format": 2, "epis'),
                         "is unreadable"),
    "record in Latin-1": (lambda out: (out / CHECKPOINT).write_bytes(b'{"format": "\xe9"}'),
                          "is unreadable"),
    "record a JSON list": (lambda out: (out / CHECKPOINT).write_text("[]"), "a JSON list"),
    "record of format 1": (lambda out: edit_record(out, lambda r: r.update(format=1)),
                           r"format '1', this systolab reads format 2 \(older checkpoints"),
    "record of a future format": (lambda out: edit_record(out, lambda r: r.update(format=9)),
                                  "has format '9'"),
    "NaN accuracy": (lambda out: (out / CHECKPOINT).write_text(
        (out / CHECKPOINT).read_text().replace('"accuracy": 0.', '"accuracy": NaN, "x": 0.', 1)),
        "NaN is not a number a checkpoint can hold"),
    "overflowing reward": (lambda out: edit_record(
        out, lambda r: r["history"][0].update(reward="1e999")), "episode field 'reward' must be"),
    "episode count off": (lambda out: edit_record(out, lambda r: r.update(
        episode=2, state_file="search-state-000002.pt")), "is unreadable"),
    "history shorter": (lambda out: edit_record(out, lambda r: r["history"].pop()),
                        "does not hold episodes 0 to 2"),
    "negative episode": (lambda out: edit_record(out, lambda r: r.update(episode=-1)),
                         "'episode' must be a count"),
    "settings of another search": (lambda out: edit_record(
        out, lambda r: r["config"].update(seed=99)), r"different search \(seed: 99 there, 4 now\)"),
    "settings unreadable": (lambda out: edit_record(out, lambda r: r.update(config=[1])),
                            "its settings are unreadable"),
    "history field missing": (lambda out: edit_record(out, lambda r: r["history"][1].pop("policy")),
                              "needs exactly the fields"),
    "finished not a boolean": (lambda out: edit_record(out, lambda r: r.update(finished="no")),
                               "'finished' a boolean"),
    "policy not a policy": (lambda out: edit_record(
        out, lambda r: r["history"][0].update(policy={"layers": 5})), "does not fit this search"),
    "agent state foreign": (lambda out: torch.save({"agent": {"next": 3}, "rng": {}},
                                                   state_file(out)), "does not fit this search"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_foreign_checkpoint_is_one_message_that_says_what_to_do(
        good: Path, tmp_path: Path, damage: str) -> None:
    out = copy_of(good, tmp_path)
    change, message = DAMAGE[damage]
    change(out)
    with pytest.raises(CheckpointError, match=message) as info:
        search(out, resume=True)
    text = str(info.value)
    assert "another --out" in text and len(text) < 600


def test_one_output_folder_serves_one_search_at_a_time(tmp_path: Path) -> None:
    busy = r"cannot start this search: .* is in use by another systolab run"
    with exclusive(tmp_path, "sweep"), pytest.raises(OutputBusyError, match=busy):
        search(tmp_path)
    assert not (tmp_path / CHECKPOINT).exists()
    search(tmp_path)  # the lock went with the block that held it
    assert (tmp_path / CHECKPOINT).exists()
