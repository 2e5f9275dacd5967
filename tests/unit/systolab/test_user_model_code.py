"""A user's model file and factory run inside a guard: whatever they do (raise, exit, recurse,
run out of memory, return the wrong thing, hold no compute layer) ends as one line naming the
file and function, with exit code 2, never a traceback and never a silent success."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from systolab.cli import main
from systolab.search.tasks import EvaluatorError, load_evaluator

HEADER = "import sys\nimport torch\nfrom torch import nn\n\n"
RETURNS = r"returns \(model, example_input\)"

FACTORIES: dict[str, tuple[str, str]] = {
    "needs an argument": ("def build(x):\n    return nn.Linear(2, 2), torch.zeros(1, 2)",
                          r"must take no arguments \(it needs x\)"),
    "returns a scalar input": ("def build():\n    return nn.Linear(2, 2), 3.0",
                               "returned an example input that is float"),
    "returns a 0-d input": ("def build():\n    return nn.Linear(2, 2), torch.tensor(1.0)",
                            "returned an example input that is a 0-d tensor"),
    "returns a dict": ("def build():\n    return {'model': nn.Linear(2, 2)}",
                       f"returned dict: a factory takes no arguments and {RETURNS}"),
    "returns only a model": ("def build():\n    return nn.Linear(2, 2)",
                             "returned only a model, and its input shape cannot be guessed"),
    "recurses forever": ("def build():\n    return build()", "recursed without end"),
    "calls sys.exit": ("def build():\n    sys.exit(3)", r"called sys.exit\(3\); it must return"),
    "raises": ("def build():\n    raise ValueError('no weights at /data')",
               "raised ValueError: no weights at /data"),
    "allocates too much": ("def build():\n    return nn.Linear(2, 2), torch.empty(2**62)",
                           "raised RuntimeError"),
    "has no compute layer": ("def build():\n    return nn.ReLU(), torch.zeros(1, 4)",
                             "has no compute layer"),
    "forward calls sys.exit": (
        "class Net(nn.Module):\n    def forward(self, x):\n        sys.exit('bye')\n\n"
        "def build():\n    return Net(), torch.zeros(1, 2)",
        r"called sys.exit\('bye'\)|cannot trace model Net"),
    "forward recurses": (
        "class Net(nn.Module):\n    def forward(self, x):\n        return self(x)\n\n"
        "def build():\n    return Net(), torch.zeros(1, 2)",
        "cannot trace model Net: torch.fx failed .RecursionError"),
    "input of the wrong shape": ("def build():\n    return nn.Linear(2, 2), torch.zeros(1, 3)",
                                 r"with the given example input \(shape \(1, 3\)\)"),
    "exits at import": ("sys.exit('no GPU here')\n\ndef build():\n    pass",
                        r"importing model file .* called sys.exit\('no GPU here'\)"),
    "fails at import": ("import not_a_module_anywhere\n\ndef build():\n    pass",
                        "importing model file .* raised ModuleNotFoundError"),
}


@pytest.mark.parametrize("case", list(FACTORIES))
def test_a_misbehaving_model_factory_is_one_line_naming_it(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body, message = FACTORIES[case]
    path = tmp_path / f"net_{list(FACTORIES).index(case)}.py"  # one module per case
    path.write_text(HEADER + body + "\n")
    assert main(["simulate", f"{path}:build"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "Traceback" not in err and len(err) < 1200
    assert re.search(message, err), err


def test_an_evaluator_that_raises_or_exits_is_named(tmp_path: Path) -> None:
    path = tmp_path / "scores.py"
    path.write_text("import sys\n\ndef broken(model):\n    return 1 / 0\n\n"
                    "def leaves(model):\n    sys.exit(0)\n")
    with pytest.raises(EvaluatorError, match=rf"evaluator '{path}:broken' raised "
                                             "ZeroDivisionError: division by zero"):
        load_evaluator(f"{path}:broken")(torch.nn.Linear(2, 2))
    with pytest.raises(EvaluatorError, match=r"called sys.exit\(0\)"):
        load_evaluator(f"{path}:leaves")(torch.nn.Linear(2, 2))
