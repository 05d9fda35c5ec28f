"""Claims: YAML validation, comparator/tolerance verdict logic, claims.json, markdown."""
from __future__ import annotations

import json

import pytest
import yaml

from artifact import claims
from artifact.claims import Claim, ClaimBook

BASE = dict(statement="s", figure="Fig. 1", unit="x", needs_gpu=False, source="spec", tolerance=0.1)


def claim(comparator, paper_value=2.0, **kw):
    return Claim(id="c", comparator=comparator, paper_value=paper_value, **{**BASE, **kw})


@pytest.mark.parametrize("comparator,measured,expected", [
    (">=", 1.85, True), (">=", 1.79, False),          # 2.0 with 10 % slack
    ("<=", 2.19, True), ("<=", 2.21, False),
    ("approx", 1.81, True), ("approx", 2.25, False),
    ("==", 2.09, True), ("==", 2.11, False),          # absolute tolerance for ==
])
def test_comparators(comparator, measured, expected):
    assert claim(comparator).holds(measured) is expected


def test_verdicts():
    c = claim(">=")
    assert claims.verdict(c, 2.5) == "reproduced"
    assert claims.verdict(c, 1.2, trend=True) == "trend reproduced"
    assert claims.verdict(c, 1.2, trend=False) == "not reproduced"
    assert claims.verdict(c, None) == "not run"
    assert claims.verdict(claim(">=", needs_gpu=True), None) == "needs GPU"


def test_target_overrides_unknown_paper_value():
    c = claim("<=", paper_value=None, target=1.0, tolerance=0.0)
    assert c.paper_display == "UNKNOWN" and c.holds(1.0) and not c.holds(1.01)


def write_yaml(path, entries):
    path.write_text(yaml.safe_dump({"paper": "toy", "claims": entries}))
    return path


def entry(**kw):
    return {"id": "a", "paper_value": 2.0, "comparator": ">=", **BASE, **kw}


@pytest.mark.parametrize("bad,match", [
    (entry(comparator="~"), "comparator"),
    (entry(paper_value=None), "target"),
    (entry(paper_value="2x"), "must be a number"),
    (entry(colour="red"), "unknown keys"),
    ({"id": "a"}, "lacks"),
])
def test_bad_yaml_is_explained(tmp_path, bad, match):
    with pytest.raises(claims.ClaimsFileError, match=match):
        claims.load_claims("toy", write_yaml(tmp_path / "toy.yaml", [bad]))


def test_missing_yaml(tmp_path):
    with pytest.raises(claims.ClaimsFileError, match="does not exist"):
        claims.load_claims("toy", tmp_path / "nope.yaml")


def test_book_records_and_saves(tmp_path, monkeypatch):
    monkeypatch.setenv("ARTIFACT_RESULTS_DIR", str(tmp_path))
    loaded = claims.load_claims("toy", write_yaml(tmp_path / "toy.yaml", [
        entry(id="speedup"), entry(id="gpu_only", needs_gpu=True), entry(id="forgotten")]))
    book = ClaimBook("toy", scale="smoke", claims=loaded, hardware="test box")
    assert book.record("speedup", 1.5, trend=True, note="small graph") == "trend reproduced"
    assert book.needs_gpu("gpu_only", note="python3 scripts/gpu/x.py") == "needs GPU"
    with pytest.raises(claims.UnknownClaimError, match="speedup"):
        book.record("nope", 1.0)
    with pytest.raises(ValueError, match="not finite"):
        book.record("speedup", float("nan"))
    rows = json.loads(book.save().read_text())
    assert [r["verdict"] for r in rows] == ["trend reproduced", "needs GPU", "not run"]
    for key in ("id", "statement", "paper_value", "measured", "unit", "verdict", "source", "scale", "hardware"):
        assert key in rows[0]
    assert rows[0]["measured"] == 1.5 and rows[0]["scale"] == "smoke" and rows[0]["hardware"] == "test box"
    md = claims.render_markdown(claims.load_results(tmp_path, papers=["toy"]))
    assert "trend reproduced" in md and "3 claims" in md


def test_every_committed_yaml_is_valid():
    from artifact import PAPERS, paths

    for paper in PAPERS:
        if paths.data_dir("paper", f"{paper}.yaml").exists():
            assert claims.load_claims(paper), paper
