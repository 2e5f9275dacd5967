"""Import a user's Python file (``path/to/file.py``) as a module, once per path.

Used wherever a command takes ``file.py:function`` (model factories, evaluators). Errors are
raised as the caller's error type, naming the file and what went wrong.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hwsim.errors import SystolabError

__all__ = ["import_user_file"]


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
        spec.loader.exec_module(module)
    except Exception as err:
        del sys.modules[module_name]
        raise error(f"importing {what} {path_text!r} failed: {type(err).__name__}: {err}") from err
    return module
