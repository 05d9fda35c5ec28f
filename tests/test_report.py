"""Report: CLAIMS.md + index.html from results; the README claims table is never stale."""
from __future__ import annotations

import json

from artifact import paths, report


def test_readme_claims_table_is_up_to_date():
    text = (paths.REPO_ROOT / "README.md").read_text()
    assert report.render_readme(text) == text, "README claims table is stale: run `artifact report --update-readme`"


def test_build_report_puts_claims_first(tmp_path):
    (tmp_path / "toy").mkdir()
    row = {"id": "a", "statement": "fast", "figure": "Fig. 1", "paper_value": 2.0, "paper_value_text": "2",
           "measured": 1.5, "unit": "x", "comparator": ">=", "reference": 2.0, "tolerance": 0.1,
           "verdict": "trend reproduced", "source": "s", "scale": "smoke", "hardware": "box", "note": "", "paper": "toy"}
    (tmp_path / "ginex").mkdir()
    (tmp_path / "ginex" / "claims.json").write_text(json.dumps([row]))
    index = report.build_report(tmp_path)
    page = index.read_text()
    assert page.index("Claims") < page.index("Executed notebooks")
    assert "trend reproduced" in page
    assert "trend reproduced" in (tmp_path / "CLAIMS.md").read_text()
