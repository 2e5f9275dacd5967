"""A user's Python code, run so that whatever it does ends as one message naming it.

Used wherever a command takes ``file.py:function`` (model factories, evaluators):
:func:`import_user_file` imports the file once per path, and :func:`run_user_code` calls a
function from it. Everything user code can do to stop us (raise, call ``sys.exit``, recurse
without end, run out of memory) becomes the caller's error type, naming the file or function
and what happened; Ctrl-C still interrupts.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from hwsim.errors import SystolabError

__all__ = ["import_user_file", "run_user_code"]

T = TypeVar("T")


def run_user_code(what: str, error: type[SystolabError], fn: Callable[..., T],
                  *args: Any) -> T:
    """``fn(*args)``; anything it raises becomes ``error`` naming ``what`` ("model factory
    'build' in 'net.py'"). Our own errors pass through unchanged."""
    try:
        return fn(*args)
    except SystolabError:
        raise
    except SystemExit as stop:
        raise error(f"{what} called sys.exit({repr(stop.code)[:80]}); it must return "
                    "instead") from None
    except RecursionError:
        raise error(f"{what} recursed without end (RecursionError)") from None
    except MemoryError:
        raise error(f"{what} ran out of memory (MemoryError)") from None
    except Exception as err:
        text = str(err).strip().splitlines()[0][:300] if str(err).strip() else ""
        raise error(f"{what} raised {type(err).__name__}" + (f": {text}" if text else "")) \
            from None


def import_user_file(path_text: str, what: str, error: type[SystolabError]) -> ModuleType:
    """The module defined by ``path_text``; ``what`` names it in errors ("model file")."""
    path = Path(path_text)
    if not path.is_file():
        raise error(f"{what} {path_text!r} does not exist")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"systolab_user_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise error(f"{what} {path_text!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        run_user_code(f"importing {what} {path_text!r}", error, spec.loader.exec_module, module)
    except SystolabError:
        del sys.modules[module_name]
        raise
    return module
