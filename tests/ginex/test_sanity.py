"""Kick-the-tires hook of the Ginex package."""
from artifact.ginex import sanity_check


def test_sanity_check_all_ok():
    df = sanity_check()
    assert list(df.columns) == ["check", "value", "expected", "ok"]
    assert len(df) >= 4 and df["ok"].all(), df.to_string()
