"""Atomic search checkpoints: a JSON record of the history plus a torch file of the agent.

After every episode the search writes, in its output directory:

- ``search-state-<episode>.pt`` (``torch.save``): the agent's complete state (networks,
  optimizers, replay buffer, its random generator; for NSGA-II the trials told so far) and the
  process-wide random states (``random``, ``numpy.random``, ``torch``);
- ``search.json``: format version, the search's settings, the episode count, the history and
  the name of the state file it goes with.

Each file is written to a temporary name and renamed into place (``os.replace`` is atomic on
POSIX), state file first; ``search.json`` is the commit record, so a search killed at any point
resumes from the last complete episode. Older state files are removed after the commit.
The state file is unpickled with ``weights_only=False``: it holds numpy arrays and random
states, so only resume from directories you wrote.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hwsim.errors import SystolabError

__all__ = ["CHECKPOINT", "CheckpointError", "load_checkpoint", "restore_rng", "rng_state",
           "save_checkpoint"]

CHECKPOINT = "search.json"
FORMAT = 1


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


def _atomic_write(path: Path, write: Any) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        write(tmp)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)


def save_checkpoint(out_dir: Path, record: dict[str, Any], state: dict[str, Any]) -> None:
    """Write ``state`` (torch) then ``record`` (JSON, must hold ``episode``) atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    state_name = f"search-state-{record['episode']:06d}.pt"
    _atomic_write(out_dir / state_name, lambda f: torch.save(state, f))
    text = json.dumps({"format": FORMAT, **record, "state_file": state_name}, indent=1)
    _atomic_write(out_dir / CHECKPOINT, lambda f: f.write(text.encode()))
    for old in out_dir.glob("search-state-*.pt"):
        if old.name != state_name:
            old.unlink(missing_ok=True)


def load_checkpoint(out_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The JSON record and the torch state of the last complete episode in ``out_dir``."""
    path = out_dir / CHECKPOINT
    if not path.is_file():
        raise CheckpointError(f"cannot resume: {str(out_dir)!r} holds no checkpoint ({CHECKPOINT})")
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise CheckpointError(f"checkpoint {str(path)!r} is unreadable: {err}") from None
    if record.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint format must be {FORMAT}, not {record.get('format')!r}")
    state_path = out_dir / record["state_file"]
    try:
        state = torch.load(state_path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as err:
        raise CheckpointError(f"checkpoint state {str(state_path)!r} is unreadable: {err}") from None
    return record, state
