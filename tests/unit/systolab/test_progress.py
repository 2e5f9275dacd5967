"""Progress: nothing for quick tasks, periodic plain lines when the output is not a terminal,
a bar on a terminal; the long commands report through it."""

from __future__ import annotations

import io

import pytest

from systolab.progress import Reporter


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr("systolab.progress.time.monotonic", fake)
    return fake


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_quick_task_prints_nothing(clock: _Clock) -> None:
    out = io.StringIO()
    with Reporter("costs", total=64, unit="bit pairs", stream=out) as bar:
        for done in range(1, 65):
            clock.now += 0.01
            bar.update(done)
    assert out.getvalue() == ""


def test_plain_lines_come_every_ten_seconds_not_every_step(clock: _Clock) -> None:
    out = io.StringIO()
    with Reporter("sweep s", total=1000, unit="points", stream=out) as bar:
        for done in range(1, 1001):
            clock.now += 0.1  # 100 s in all
            bar.update(done, status=f"front {done // 100}")
    lines = out.getvalue().splitlines()
    assert 9 <= len(lines) <= 12 and "\r" not in out.getvalue()
    assert lines[0].startswith("sweep s: 20/1,000 points (2%), 2.0 s, about 98 s left")
    assert lines[-1] == "sweep s: 1,000/1,000 points (100%), 100.0 s, front 10"


def test_a_terminal_gets_a_bar_and_disabled_prints_nothing(clock: _Clock) -> None:
    term = _Terminal()
    with Reporter("simulate vgg16", total=10, unit="layers", stream=term) as bar:
        for done in range(1, 11):
            clock.now += 1.0
            bar.update(done)
    assert "simulate vgg16" in term.getvalue() and "10/10" in term.getvalue()
    quiet = io.StringIO()
    with Reporter("x", total=10, stream=quiet, enabled=False) as bar:
        clock.now += 100
        bar.update(10)
    assert quiet.getvalue() == ""


def test_rtl_synthesis_reports_each_finished_job(monkeypatch: pytest.MonkeyPatch) -> None:
    """``systolab rtl synth`` runs Yosys for minutes: every finished synthesis moves the
    progress, from worker threads, counted once each."""
    from hwsim.resources import Resources
    from systolab import rtl_tools

    monkeypatch.setattr(rtl_tools, "synth_one", lambda *args: Resources(lut=1, ff=2))
    seen: list[tuple[int, int]] = []
    results = rtl_tools.synthesize(jobs=2, on_progress=lambda d, t, what: seen.append((d, t)))
    total = sum(len(r.per_family) for r in results)
    assert sorted(seen) == [(d, total) for d in range(1, total + 1)]
