"""Runner: skip/force, atomic completion, failure naming the cell, a killed run leaves nothing complete."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artifact import runner

from nbutil import make_notebook


@pytest.fixture()
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACT_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path / "results"


def test_paper_of_strips_order_prefix():
    assert runner.paper_of(Path("notebooks/00_kick_the_tires.ipynb")) == "kick_the_tires"
    assert runner.paper_of(Path("notebooks/ginex.ipynb")) == "ginex"


def test_discover_and_select(tmp_path):
    for name in ("b.ipynb", "00_a.ipynb"):
        make_notebook(tmp_path / name, "pass")
    jobs = runner.discover(tmp_path)
    assert [j.paper for j in jobs] == ["a", "b"]
    assert [j.paper for j in runner.select(jobs, ["b"])] == ["b"]
    with pytest.raises(runner.UnknownPaperError, match="choose from: a, b"):
        runner.select(jobs, ["zzz"])


@pytest.mark.parametrize("text,value", [("3", 3), ("2.5", 2.5), ("true", True), ("None", None), ("abc", "abc")])
def test_parse_value(text, value):
    assert runner.parse_value(text) == value


def test_run_skip_force_and_parameters(tmp_path, results):
    nb = make_notebook(tmp_path / "toy.ipynb", "import pathlib\npathlib.Path(out).write_text(f'{scale}:{n}')",
                       params='scale: str = "quick"  # scale\nn: int = 1  # a number\nout: str = ""  # output file')
    job = runner.NotebookJob(nb, "toy")
    out = tmp_path / "out.txt"
    first = runner.run_notebook(job, "smoke", {"n": 7, "out": str(out)})
    assert first.status == "ran" and out.read_text() == "smoke:7"
    marker = json.loads(job.marker("smoke").read_text())
    assert marker["params"]["n"] == 7 and job.executed.exists()
    out.unlink()
    assert runner.run_notebook(job, "smoke", {"n": 7, "out": str(out)}).status == "skipped"
    assert not out.exists()
    # different parameters are a different run; --force reruns the same one
    assert runner.run_notebook(job, "smoke", {"n": 8, "out": str(out)}).status == "ran"
    assert runner.run_notebook(job, "smoke", {"n": 8, "out": str(out)}, force=True).status == "ran"
    assert out.read_text() == "smoke:8"
    assert list((results / "logs").glob("toy-smoke-*.log"))


def test_failure_names_cell_and_keeps_partial(tmp_path, results):
    nb = make_notebook(tmp_path / "bad.ipynb", "x = 1\nraise RuntimeError('deliberate failure')")
    job = runner.NotebookJob(nb, "bad")
    with pytest.raises(runner.NotebookFailed) as info:
        runner.run_notebook(job, "smoke")
    msg = str(info.value)
    assert "bad.ipynb" in msg and "deliberate failure" in msg and "cell 3" in msg and "raise RuntimeError" not in msg.split('cell starts')[0]
    assert "x = 1" in msg  # the failing cell's first line
    assert (results / "bad" / "bad.failed.ipynb").exists()
    assert not job.marker("smoke").exists() and not job.executed.exists()


def test_killed_run_leaves_nothing_complete(tmp_path, results):
    nb = make_notebook(tmp_path / "slow.ipynb", "import pathlib, time\npathlib.Path(flag).write_text('started')\ntime.sleep(60)",
                       params='scale: str = "quick"  # scale\nflag: str = ""  # file written when the cell starts')
    job = runner.NotebookJob(nb, "slow")
    # a previous successful run exists: a killed rerun must withdraw its completion marker
    job.marker("smoke").parent.mkdir(parents=True, exist_ok=True)
    job.marker("smoke").write_text("{}")
    flag = tmp_path / "flag"
    code = (f"from pathlib import Path; from artifact import runner; "
            f"runner.run_notebook(runner.NotebookJob(Path({str(nb)!r}), 'slow'), 'smoke', {{'flag': {str(flag)!r}}}, force=True)")
    proc = subprocess.Popen([sys.executable, "-c", code], env=os.environ.copy(), start_new_session=True)
    deadline = time.time() + 60
    while not flag.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert flag.exists(), "the notebook never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not job.marker("smoke").exists()
    assert not job.executed.exists()
    assert not runner.is_complete(job, "smoke", {"scale": "smoke", "flag": str(flag)})


def test_dry_run_runs_nothing(tmp_path, results, capsys):
    nb = make_notebook(tmp_path / "toy.ipynb", "raise SystemExit('must not run')")
    runner.run_all([runner.NotebookJob(nb, "toy")], "smoke", dry_run=True)
    assert "would run" in capsys.readouterr().out
    assert not (results / "toy" / "toy.ipynb").exists()


def test_unknown_scale_rejected(tmp_path):
    nb = make_notebook(tmp_path / "toy.ipynb", "pass")
    with pytest.raises(ValueError, match="smoke, quick, full"):
        runner.run_all([runner.NotebookJob(nb, "toy")], "huge")
