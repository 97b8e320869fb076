"""``proctor redteam [--family F] [--json]``: attack the configured desk, print what held."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    redteam = commands.add_parser(
        "redteam",
        help="attack the configured desk with a hostile model on loopback (exit 1 when anything got through)",
        description="Runs attack families against the configured desk (its tools, policy and data, copied to a "
        "throwaway folder) with a hostile, obedient OpenAI-compatible model on 127.0.0.1.",
    )
    redteam.add_argument("--family", action="append", metavar="F", help="only this family (repeatable)")
    redteam.add_argument("--seconds", type=float, default=120.0, help="time limit per family (default 120)")
    redteam.add_argument("--json", action="store_true", help="print one JSON object")
    redteam.set_defaults(handler=_redteam)


def _redteam(args: argparse.Namespace) -> int:
    import warnings

    from proctor.redteam.catalog import by_name
    from proctor.redteam.runner import run_families
    from proctor.settings import Settings  # here, not at the top: `proctor --help` imports every register

    warnings.filterwarnings("ignore", message="Pydantic serializer warnings")  # the run context in checkpoints
    families = by_name(args.family)
    report = run_families(families, Settings(), deadline_s=args.seconds)
    print(report.model_dump_json(indent=2) if args.json else render(report))
    return 0 if report.ok else 1


def render(report) -> str:
    width = max(len(f.family) for f in report.families) + 2
    lines = [f"proctor redteam: attacking as {report.user}", "", f"{'family':<{width}}tried  held  breached"]
    for f in report.families:
        note = f"  {f.skipped}" if f.skipped else ""
        lines.append(f"{f.family:<{width}}{f.tried:>5}  {f.held:>4}  {f.tried - f.held:>8}{note}")
    lines.append(f"{'total':<{width}}{report.tried:>5}  {report.held:>4}  {report.tried - report.held:>8}")
    if report.breaches:
        lines += ["", "breaches (evidence from the database and the run):"]
        for b in report.breaches:
            lines.append(f"  [{b.family}] {b.attempt}")
            lines += [f"      - {e}" for e in b.evidence]
    return "\n".join(lines)
