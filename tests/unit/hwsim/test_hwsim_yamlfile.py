"""hwsim.yamlfile.read_yaml: every config, table and policy file goes through it, so each way a
file can be wrong is one message naming the file, never a traceback, a hang or silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwsim.errors import ConfigError
from hwsim.yamlfile import read_yaml


def _file(tmp_path: Path, data: bytes | str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def test_utf8_and_utf16_read_alike(tmp_path: Path) -> None:
    text = "name: café\nrows: 16\n"
    assert read_yaml(_file(tmp_path, text)) == {"name": "café", "rows": 16}
    assert read_yaml(_file(tmp_path, text.encode("utf-16"))) == {"name": "café", "rows": 16}


@pytest.mark.parametrize(("data", "message"), [
    ("rows: 16\ncols: 8\nrows: 32\n",
     r"is not valid YAML: line 3, column 1: key 'rows' appears twice in this mapping"),
    ("array: {rows: 16, rows: 32}\n", r"is not valid YAML: line 1, column 19: key 'rows' "),
    ("name: caf\xe9\n".encode("latin-1"),
     r"must be UTF-8 \(or UTF-16\) text, but byte 9 cannot be decoded"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"is nested too deeply to read"),
    ("\n".join(["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
               + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)])
     + "\n", r"expands to more than 1,000,000 values"),
    (b"\0" * (16 * 2**20 + 1), r"must be at most 16 MiB of YAML"),
])
def test_a_bad_file_is_one_message_naming_it(tmp_path: Path, data: bytes | str,
                                             message: str) -> None:
    with pytest.raises(ConfigError, match=r"^config file '.*c\.yaml' " + message):
        read_yaml(_file(tmp_path, data))


def test_aliases_within_reason_still_work(tmp_path: Path) -> None:
    doc = "base: &b {w_bits: 4, a_bits: 8}\nlayers: {conv1: *b, fc: *b}\n"
    assert read_yaml(_file(tmp_path, doc))["layers"]["fc"] == {"w_bits": 4, "a_bits": 8}
