"""What reaches the user when something goes wrong: a user error is one line (exit 2); a bug
is one line naming the exception (exit 1); ``--debug`` shows the full traceback of either;
SIGTERM is handled like Ctrl-C and the previous handler comes back after the run."""

from __future__ import annotations

import signal

import pytest

from hwsim.errors import SystolabError
from systolab.cli import main
from systolab.commands.inspect_cmd import inspect


def _raising(error: BaseException):  # type: ignore[no-untyped-def]
    def callback(*args: object, **kwargs: object) -> None:
        raise error
    return callback


def test_a_bug_is_one_line_and_debug_shows_its_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(inspect, "callback", _raising(RuntimeError("boom")))
    assert main(["inspect", "lenet5"]) == 1
    err = capsys.readouterr().err
    assert err == ("error: internal error (RuntimeError: boom); rerun with --debug for the "
                   "traceback, and please report it\n")
    with pytest.raises(RuntimeError, match="boom"):
        main(["--debug", "inspect", "lenet5"])


def test_a_user_error_is_one_line_and_debug_adds_the_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(inspect, "callback", _raising(SystolabError("rows must be positive")))
    assert main(["inspect", "lenet5"]) == 2
    assert capsys.readouterr().err == "error: rows must be positive\n"
    assert main(["--debug", "inspect", "lenet5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("error: rows must be positive\n")


def test_sigterm_is_an_interrupt_during_a_run_and_restored_after(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def terminate(*args: object, **kwargs: object) -> None:
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(inspect, "callback", terminate)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["inspect", "lenet5"]) == 143
    assert capsys.readouterr().err.strip().endswith("terminated")
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("args", [
    ["search", "lenet5", "--threads", "100000"],
    ["search", "--seed", "-1"],
    ["search", "--latency", "nan"],
    ["search", "--finetune-lr", "inf"],
    ["inspect", "lenet5", "--batch", "99999999999999999999"],
    ["simulate", "lenet5", "--batch", "0"],
    ["sweep", "x.yaml", "--workers", "1000"],
    ["sweep", "x.yaml", "--connect-timeout", "nan"],
    ["costs", "lenet5", "--bits", "1-1000"],
    ["deepcompress", "lenet5", "--fc-bits", "17"],
    ["deepcompress", "--task", "digits", "--lr", "nan"],
])
def test_an_option_value_beyond_its_bounds_is_a_usage_error(
        args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "Invalid value" in err and "Traceback" not in err
