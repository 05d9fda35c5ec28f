"""The ``artifact`` command line: ``reproduce``, ``claims``, ``report``, ``env``.

Examples::

    artifact reproduce                      # every notebook at the default quick scale, then the report
    artifact reproduce --scale smoke --paper l3 a3 --force
    artifact reproduce --paper ginex -p superbatch_size 20 --dry-run
    artifact claims                          # the claims table of the last run
    artifact report --snapshot --update-readme
    artifact env
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from . import scales


def _paper_choices() -> list[str]:
    from .runner import discover

    return [j.paper for j in discover()]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="artifact", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="{reproduce,claims,report,env}")

    r = sub.add_parser("reproduce", help="run the notebooks through papermill, then build the report")
    r.add_argument("--scale", default=scales.DEFAULT_SCALE, choices=scales.SCALES,
                   help="smoke (CI, seconds), quick (default, minutes on a laptop), full (paper-like; hours/GPU)")
    r.add_argument("--paper", nargs="+", default=[], metavar="P", choices=_paper_choices(),
                   help="run only these notebooks (default: all): %(choices)s")
    r.add_argument("--force", action="store_true", help="rerun notebooks that already completed")
    r.add_argument("--dry-run", action="store_true", help="print what would run and exit")
    r.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="override a notebook parameter (repeatable), e.g. -p seed 1")
    r.add_argument("--timeout", type=int, default=-1,
                   help="per-cell timeout in seconds (default: 600 smoke, 3600 quick, none full; 0 = none)")
    r.add_argument("--no-report", action="store_true", help="skip building the report afterwards")

    c = sub.add_parser("claims", help="print the claims table (results of the last run, else the papers' values)")
    c.add_argument("--json", action="store_true", help="print JSON instead of Markdown")

    rep = sub.add_parser("report", help="build results/CLAIMS.md and results/report/index.html")
    rep.add_argument("--snapshot", action="store_true",
                     help="copy this run's claims into data/measured/claims/quick.json (committed)")
    rep.add_argument("--update-readme", action="store_true", help="regenerate the README's claims table")
    rep.add_argument("--check-readme", action="store_true", help="exit 1 if the README's claims table is stale")

    sub.add_parser("env", help="print the environment capture (hardware, versions, git) as JSON")
    return p


def _reproduce(args: argparse.Namespace) -> int:
    from . import report, runner

    params = {name: runner.parse_value(value) for name, value in args.parameter}
    if "scale" in params:
        print("artifact: use --scale, not -p scale", file=sys.stderr)
        return 2
    jobs = runner.select(runner.discover(), args.paper)
    timeout = None if args.timeout == 0 else args.timeout
    try:
        runner.run_all(jobs, args.scale, params, force=args.force, dry_run=args.dry_run, timeout=timeout)
    except runner.NotebookFailed as exc:
        print(f"artifact: FAILED: {exc}", file=sys.stderr)
        if not args.no_report:
            report.build_report()
        return 1
    if not args.dry_run and not args.no_report:
        index = report.build_report()
        print(f"[report] {index}")
        print(f"[report] {index.parent.parent / 'CLAIMS.md'}")
    return 0


def _claims(args: argparse.Namespace) -> int:
    from . import claims, report

    rows = claims.load_results()
    if args.json:
        print(json.dumps(rows, indent=2))
    elif rows:
        print(claims.render_markdown(rows))
    else:
        print(report.readme_table())
    return 0


def _report(args: argparse.Namespace) -> int:
    from . import report

    if args.snapshot:
        print(f"[report] snapshot {report.snapshot()}")
    if args.check_readme:
        from . import paths

        text = (paths.REPO_ROOT / "README.md").read_text()
        if report.render_readme(text) != text:
            print("artifact: README claims table is stale: run `artifact report --update-readme`", file=sys.stderr)
            return 1
        print("[report] README claims table is up to date")
        return 0
    if args.update_readme:
        changed = report.update_readme()
        print(f"[report] README claims table {'updated' if changed else 'already up to date'}")
    print(f"[report] {report.build_report()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "reproduce":
        return _reproduce(args)
    if args.command == "claims":
        return _claims(args)
    if args.command == "report":
        return _report(args)
    from . import envinfo

    print(json.dumps(envinfo.collect(), indent=2))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
