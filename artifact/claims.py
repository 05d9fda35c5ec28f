"""Claims are data (DESIGN.md): paper reference values vs measured values, with a verdict.

Reference values live in ``data/paper/<paper>.yaml``; a notebook records what it measured through a
:class:`ClaimBook` and saves ``results/<paper>/claims.json``; :func:`render_markdown` turns all of
them into ``results/CLAIMS.md`` and the README's claims table.

Verdicts:

* ``reproduced`` -- the comparator holds for the measured value (within the stated tolerance);
* ``trend reproduced`` -- it does not, but the direction/ranking holds at reduced scale;
* ``not reproduced`` -- neither;
* ``needs GPU`` -- not run on this hardware (the record says what would run it);
* ``not run`` -- the notebook never recorded the claim (an incomplete run never looks complete).

Example::

    book = ClaimBook("ginex", scale="quick")
    book.record("speedup_avg", measured=1.8, trend=True, note="CPU compute dilutes the ratio")
    book.needs_gpu("a100_speedup", note="python3 scripts/gpu/l3_decode.py")
    book.save()
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from . import paths
from .io import atomic_write_json

COMPARATORS = ("==", "<=", ">=", "approx")
VERDICTS = ("reproduced", "trend reproduced", "not reproduced", "needs GPU", "not run")
_REQUIRED = ("id", "statement", "figure", "paper_value", "unit", "comparator", "tolerance", "needs_gpu", "source")


class ClaimsFileError(ValueError):
    """A ``data/paper/<paper>.yaml`` file is missing or malformed."""


class UnknownClaimError(KeyError):
    """A notebook recorded a claim id that the paper's YAML does not define."""


@dataclass(frozen=True)
class Claim:
    """One reference claim of a paper, as written in ``data/paper/<paper>.yaml``."""

    id: str
    statement: str
    figure: str
    paper_value: float | None
    unit: str
    comparator: str
    tolerance: float
    needs_gpu: bool
    source: str
    target: float | None = None
    paper_value_text: str | None = None
    note: str = ""

    @property
    def reference(self) -> float:
        """The value a measurement is compared with: ``target`` if given, else ``paper_value``."""
        ref = self.target if self.target is not None else self.paper_value
        assert ref is not None  # guaranteed by validation
        return float(ref)

    @property
    def paper_display(self) -> str:
        if self.paper_value_text:
            return self.paper_value_text
        return "UNKNOWN" if self.paper_value is None else f"{self.paper_value:g}"

    def holds(self, measured: float) -> bool:
        """Does ``measured`` satisfy the comparator against :attr:`reference` within the tolerance?"""
        t, tol = self.reference, self.tolerance
        if self.comparator == "==":
            return abs(measured - t) <= tol
        if self.comparator == "<=":
            return measured <= t + tol * abs(t)
        if self.comparator == ">=":
            return measured >= t - tol * abs(t)
        return abs(measured - t) <= tol * abs(t)  # approx


def claims_path(paper: str) -> Path:
    return paths.data_dir("paper", f"{paper}.yaml")


def load_claims(paper: str, path: str | Path | None = None) -> dict[str, Claim]:
    """Load and validate a paper's claims; raise :class:`ClaimsFileError` saying what to fix."""
    import yaml

    path = Path(path) if path is not None else claims_path(paper)
    if not path.exists():
        raise ClaimsFileError(f"{path} does not exist: every paper needs data/paper/<paper>.yaml with its claims")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ClaimsFileError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("claims"), list) or not doc["claims"]:
        raise ClaimsFileError(f"{path}: expected a mapping with a non-empty 'claims' list")
    claims: dict[str, Claim] = {}
    for i, raw in enumerate(doc["claims"]):
        where = f"{path}: claim #{i}"
        if not isinstance(raw, dict):
            raise ClaimsFileError(f"{where} is not a mapping")
        missing = [k for k in _REQUIRED if k not in raw]
        if missing:
            raise ClaimsFileError(f"{where} ({raw.get('id', '?')}) lacks {', '.join(missing)}")
        known = set(Claim.__dataclass_fields__)
        extra = sorted(set(raw) - known)
        if extra:
            raise ClaimsFileError(f"{where} ({raw['id']}) has unknown keys {', '.join(extra)}; allowed: {', '.join(sorted(known))}")
        if raw["comparator"] not in COMPARATORS:
            raise ClaimsFileError(f"{where} ({raw['id']}): comparator {raw['comparator']!r} not in {COMPARATORS}")
        if raw["paper_value"] is None and raw.get("target") is None:
            raise ClaimsFileError(f"{where} ({raw['id']}): paper_value is UNKNOWN (null), so a 'target' is required")
        for key in ("paper_value", "target", "tolerance"):
            if raw.get(key) is not None and not isinstance(raw[key], (int, float)):
                raise ClaimsFileError(f"{where} ({raw['id']}): {key} must be a number or null, got {raw[key]!r}")
        if raw["id"] in claims:
            raise ClaimsFileError(f"{where}: duplicate id {raw['id']!r}")
        claims[raw["id"]] = Claim(
            **{k: raw[k] for k in raw if k not in ("paper_value", "target", "tolerance", "needs_gpu")},
            paper_value=None if raw["paper_value"] is None else float(raw["paper_value"]),
            target=None if raw.get("target") is None else float(raw["target"]),
            tolerance=float(raw["tolerance"]),
            needs_gpu=bool(raw["needs_gpu"]),
        )
    return claims


def verdict(claim: Claim, measured: float | None, trend: bool | None = None) -> str:
    """The verdict for one measurement (see the module docstring)."""
    if measured is None:
        return "needs GPU" if claim.needs_gpu else "not run"
    if claim.holds(measured):
        return "reproduced"
    return "trend reproduced" if trend else "not reproduced"


@dataclass
class ClaimRecord:
    """One row of ``claims.json``."""

    id: str
    statement: str
    figure: str
    paper_value: float | None
    paper_value_text: str
    measured: float | None
    unit: str
    comparator: str
    reference: float
    tolerance: float
    verdict: str
    source: str
    scale: str
    hardware: str
    note: str = ""
    paper: str = ""


@dataclass
class ClaimBook:
    """Collects one paper's measured claims during a notebook run, then saves ``claims.json``."""

    paper: str
    scale: str
    claims: dict[str, Claim] = field(default_factory=dict)
    records: dict[str, ClaimRecord] = field(default_factory=dict)
    hardware: str | None = None

    def __post_init__(self) -> None:
        from . import envinfo, scales

        scales.check_scale(self.scale)
        if not self.claims:
            self.claims = load_claims(self.paper)
        if self.hardware is None:
            self.hardware = envinfo.hardware_label()

    def _claim(self, claim_id: str) -> Claim:
        if claim_id not in self.claims:
            raise UnknownClaimError(
                f"{self.paper} has no claim {claim_id!r}; defined in {claims_path(self.paper)}: {', '.join(self.claims)}"
            )
        return self.claims[claim_id]

    def _store(self, c: Claim, measured: float | None, v: str, note: str, hardware: str | None) -> str:
        self.records[c.id] = ClaimRecord(
            id=c.id, statement=c.statement, figure=c.figure, paper_value=c.paper_value,
            paper_value_text=c.paper_display, measured=measured, unit=c.unit, comparator=c.comparator,
            reference=c.reference, tolerance=c.tolerance, verdict=v, source=c.source, scale=self.scale,
            hardware=hardware or self.hardware or "", note=note or c.note, paper=self.paper,
        )
        return v

    def record(self, claim_id: str, measured: float, *, trend: bool | None = None, note: str = "",
               hardware: str | None = None) -> str:
        """Record a measured value; return its verdict. ``measured`` must be a finite number."""
        c = self._claim(claim_id)
        try:
            value = float(measured)
        except (TypeError, ValueError):
            raise TypeError(f"claim {claim_id!r}: measured must be a number, got {measured!r}") from None
        if not math.isfinite(value):
            raise ValueError(f"claim {claim_id!r}: measured value {value} is not finite; fix the experiment or record needs_gpu")
        return self._store(c, value, verdict(c, value, trend), note, hardware)

    def needs_gpu(self, claim_id: str, note: str = "") -> str:
        """Mark a claim as not run on this hardware; ``note`` says what would run it."""
        c = self._claim(claim_id)
        return self._store(c, None, "needs GPU", note, None)

    def rows(self) -> list[ClaimRecord]:
        """All claims in YAML order; those never recorded appear as ``not run``."""
        out = []
        for c in self.claims.values():
            if c.id in self.records:
                out.append(self.records[c.id])
            else:
                rec = ClaimRecord(
                    id=c.id, statement=c.statement, figure=c.figure, paper_value=c.paper_value,
                    paper_value_text=c.paper_display, measured=None, unit=c.unit, comparator=c.comparator,
                    reference=c.reference, tolerance=c.tolerance, verdict="not run", source=c.source,
                    scale=self.scale, hardware=self.hardware or "", note="not recorded by the notebook", paper=self.paper,
                )
                out.append(rec)
        return out

    def table(self):
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.rows()])[
            ["id", "statement", "figure", "paper_value_text", "measured", "unit", "verdict", "note"]
        ]

    def save(self) -> Path:
        """Write ``results/<paper>/claims.json`` atomically and return its path."""
        return atomic_write_json(paths.results_dir(self.paper) / "claims.json", [asdict(r) for r in self.rows()])


def load_results(results_root: str | Path | None = None, papers: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Read every ``results/<paper>/claims.json`` (papers in the given order)."""
    from . import PAPERS

    root = Path(results_root) if results_root is not None else paths.results_root()
    rows: list[dict[str, Any]] = []
    for paper in papers or PAPERS:
        f = root / paper / "claims.json"
        if f.exists():
            for r in json.loads(f.read_text()):
                r.setdefault("paper", paper)
                rows.append(r)
    return rows


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def render_markdown(rows: list[dict[str, Any]], *, include_env: bool = True) -> str:
    """A Markdown claims table: paper value vs measured, verdict, scale and hardware."""
    if not rows:
        return "_No claims recorded yet: run `make reproduce`._\n"
    lines = [
        "| paper | claim | paper figure | paper value | measured | unit | verdict | scale | hardware |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        statement = r["statement"].replace("|", "\\|")
        lines.append(
            f"| {r.get('paper', '')} | {statement} | {r['figure']} | {r['paper_value_text']} | "
            f"{_fmt(r['measured'])} | {r['unit']} | **{r['verdict']}** | {r['scale']} | "
            f"{r['hardware'] if include_env else ''} |"
        )
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    summary = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if v in counts)
    return "\n".join(lines) + f"\n\n{len(rows)} claims: {summary}.\n"
