"""Regenerate tests/golden/golden.json after an intended change of the models:

    .venv/bin/python tests/golden/regenerate.py

Review the diff of golden.json before committing it: every changed number is a change in
what systolab predicts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from cases import CASES, figures


def main() -> None:
    golden = {f"{model}@{arch}": figures(model, arch) for model, arch in CASES}
    path = Path(__file__).with_name("golden.json")
    path.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(golden)} cases to {path}")


if __name__ == "__main__":
    main()
