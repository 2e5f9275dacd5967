"""Atomic search checkpoints: a JSON record of the history plus a torch file of the agent.

After every episode the search writes, in its output directory:

- ``search-state-<episode>.pt`` (``torch.save``): the agent's complete state (networks,
  optimizers, replay buffer, its random generator; for NSGA-II the trials told so far) and the
  process-wide random states (``random``, ``numpy.random``, ``torch``);
- ``search.json``: format version, the search's settings, the episode count, the history and
  the name of the state file it goes with.

Each file is written atomically (:mod:`hwsim.outfiles`), state file first; ``search.json`` is
the commit record, so a search killed at any point resumes from the last complete episode.
Older state files are removed after the commit.

A checkpoint directory may come from anywhere, so reading one trusts nothing in it:

- the state file holds only tensors and plain Python values (numpy arrays are stored as
  tensors, numpy scalars as Python numbers) and is loaded with ``weights_only=True``, which
  cannot run code;
- ``state_file`` must be the plain name the episode count implies, so no path read from a
  checkpoint leads outside the directory;
- the record is checked field by field, and NaN or infinite numbers are refused.

Every failure is a :class:`CheckpointError` that says what to do (another ``--out``, or delete
the directory).
"""

from __future__ import annotations

import json
import math
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hwsim.errors import SystolabError
from hwsim.outfiles import replacing, write_text

__all__ = ["CHECKPOINT", "CheckpointError", "load_checkpoint", "restore_rng", "rng_state",
           "save_checkpoint"]

CHECKPOINT = "search.json"
# 2: the state file holds no numpy objects and is loaded with weights_only=True
FORMAT = 2
MAX_RECORD_BYTES = 256 * 2**20  # a record of 10^5 episodes of a 100-layer model is ~100 MB
_NDARRAY = "__ndarray__"
_FRESH = "start fresh with another --out, or delete it"


class CheckpointError(SystolabError):
    """A checkpoint is missing, unreadable or belongs to a different search."""


def rng_state() -> dict[str, Any]:
    """The process-wide random states that accuracy evaluation may consume."""
    return {"python": random.getstate(), "numpy": np.random.get_state(),
            "torch": torch.get_rng_state()}


def restore_rng(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def _safe(obj: Any) -> Any:
    """``obj`` with numpy arrays as tagged tensors and numpy scalars as Python numbers: what
    ``torch.load(weights_only=True)`` accepts."""
    if isinstance(obj, np.ndarray):
        return {_NDARRAY: torch.from_numpy(np.array(obj, copy=True, order="C"))}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return type(obj)((k, _safe(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_safe(v) for v in obj)
    return obj


def _unsafe(obj: Any) -> Any:
    """The inverse of :func:`_safe`."""
    if isinstance(obj, dict):
        if obj.keys() == {_NDARRAY} and isinstance(obj[_NDARRAY], torch.Tensor):
            return obj[_NDARRAY].numpy()
        return type(obj)((k, _unsafe(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_unsafe(v) for v in obj)
    return obj


def _state_name(episode: int) -> str:
    return f"search-state-{episode:06d}.pt"


def save_checkpoint(out_dir: Path, record: dict[str, Any], state: dict[str, Any]) -> None:
    """Write ``state`` (torch) then ``record`` (JSON, must hold ``episode``) atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state_name = _state_name(record["episode"])
    with replacing(out_dir / state_name) as fh:
        torch.save(_safe(state), fh)
    text = json.dumps({"format": FORMAT, **record, "state_file": state_name}, indent=1,
                      allow_nan=False)
    write_text(out_dir / CHECKPOINT, text)
    for old in out_dir.glob("search-state-*.pt"):
        if old.name != state_name:
            old.unlink(missing_ok=True)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a checkpoint can hold")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is not a number a checkpoint can hold")
    return value


def load_checkpoint(out_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON record and the torch state of the last complete episode in ``out_dir``."""
    path = out_dir / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"cannot resume: {str(out_dir)!r} holds no checkpoint ({CHECKPOINT})")
    where = f"checkpoint {str(path)!r}"
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise ValueError(f"larger than {MAX_RECORD_BYTES >> 20} MiB")
        record = json.loads(path.read_bytes(), parse_constant=_no_constant,
                            parse_float=_finite)
    except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError included
        raise CheckpointError(f"{where} is unreadable ({err}): {_FRESH}") from None
    if not isinstance(record, dict):
        raise CheckpointError(f"{where} is not a search checkpoint (a JSON "
                              f"{type(record).__name__}, not an object): {_FRESH}")
    if record.get("format") != FORMAT:
        older = isinstance(record.get("format"), int) and record["format"] < FORMAT
        raise CheckpointError(
            f"{where} has format {str(record.get('format'))[:20]!r}, this systolab reads format "
            f"{FORMAT}" + (" (older checkpoints hold state that cannot be loaded safely)"
                           if older else "") + f": {_FRESH}")
    episode = record.get("episode")
    if not isinstance(episode, int) or isinstance(episode, bool) or episode < 0:
        raise CheckpointError(f"{where}: 'episode' must be a count, not "
                              f"{str(episode)[:40]!r}: {_FRESH}")
    if record.get("state_file") != _state_name(episode):
        raise CheckpointError(f"{where}: 'state_file' must be {_state_name(episode)!r} (a file "
                              "in the same directory), not "
                              f"{str(record.get('state_file'))[:80]!r}: {_FRESH}")
    state_path = out_dir / _state_name(episode)
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols
            warnings.simplefilter("ignore")
            state = torch.load(state_path, map_location="cpu", weights_only=True)
    except Exception as err:
        reason = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        raise CheckpointError(f"checkpoint state {str(state_path)!r} is unreadable or holds "
                              f"more than tensors and plain values ({reason}): {_FRESH}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint state {str(state_path)!r} is not a search state: "
                              f"{_FRESH}")
    return record, _unsafe(state)

