"""CLI: unknown paper/scale exit 2 naming the choices; dry run; env; claims."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from artifact import cli


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "artifact.cli", *args], capture_output=True, text=True, timeout=120)


def test_unknown_scale_exits_2_listing_choices():
    r = run_cli("reproduce", "--scale", "huge", "--dry-run")
    assert r.returncode == 2 and "smoke" in r.stderr and "quick" in r.stderr and "full" in r.stderr


def test_unknown_paper_exits_2_listing_choices():
    r = run_cli("reproduce", "--paper", "nonexistent", "--dry-run")
    assert r.returncode == 2 and "kick_the_tires" in r.stderr


def test_dry_run_lists_notebooks(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARTIFACT_RESULTS_DIR", str(tmp_path))
    assert cli.main(["reproduce", "--scale", "smoke", "--dry-run", "-p", "seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "00_kick_the_tires.ipynb" in out and "'seed': 3" in out and "'scale': 'smoke'" in out


def test_scale_as_parameter_is_refused(capsys):
    assert cli.main(["reproduce", "--dry-run", "-p", "scale", "smoke"]) == 2


def test_env_prints_json(capsys):
    assert cli.main(["env"]) == 0
    env = json.loads(capsys.readouterr().out)
    assert env["cpu_cores"] >= 1 and "torch" in env["packages"] and "commit" in env["git"]


def test_claims_without_results(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARTIFACT_RESULTS_DIR", str(tmp_path))
    assert cli.main(["claims"]) == 0
    assert "paper value" in capsys.readouterr().out


def test_help_lists_commands():
    r = run_cli("--help")
    assert r.returncode == 0
    for word in ("reproduce", "claims", "report", "env"):
        assert word in r.stdout
