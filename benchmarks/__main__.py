"""``python -m benchmarks`` (``make bench``): run the suite, print the table, write the JSON.

Exit status: 0 when every measure ran (met or not: targets are reported, not enforced), 2 for a
usage error or a missing ``wrk``, 3 when a server could not be started, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from benchmarks import _report, _suite
from benchmarks._procs import ServerFailed, install_cleanup, stop_all
from benchmarks._wrk import WrkFailed, WrkMissing, find_wrk

RESULTS = Path(__file__).resolve().parent / "results"


def parse(argv: list[str]) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark the stepspec mock server and conformance kit against the "
        "targets of issue 15 (nginx serving the same bytes is the ceiling); prints a table and "
        "writes benchmarks/results/<time>.json.",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds per measure, taken in 2-s slices [10]",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 s per measure, 1 s warm-ups and 20,000 instead of 100,000 cold requests",
    )
    parser.add_argument(
        "--only",
        metavar="GROUPS",
        help=f"comma-separated subset of: {', '.join(_suite.GROUPS)} [all]",
    )
    parser.add_argument(
        "--cold-requests",
        type=int,
        default=None,
        metavar="N",
        help="cold requests of the memory-growth measure [100000; --quick: 20000]",
    )
    parser.add_argument(
        "--compare-tree",
        type=Path,
        metavar="DIR",
        help="another checkout of the repository (e.g. `git worktree add DIR HEAD`): its mock's "
        "warm and cold arms join every HTTP block, tagged [DIR's name], for before/after figures",
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, metavar="DIR", help="where the JSON goes"
    )
    parser.add_argument(
        "--show",
        type=Path,
        metavar="FILE",
        help="print the table of an earlier results file instead of measuring",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print tables as Markdown (for the README)"
    )
    return parser.parse_args(argv)


def show(path: Path, markdown: bool) -> int:
    """Print the table, notes and problems of an earlier run."""
    try:
        rows, info = _report.read_json(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"python -m benchmarks: cannot read {path}: {error}", file=sys.stderr)
        return 2
    print(f"{info.get('command', '?')}  ({info.get('started', '?')}, {info.get('seconds', '?')} s)")
    print(_report.table(rows, markdown=markdown))
    if any(row.note for row in rows):
        print("\nnotes:\n" + _report.notes(rows))
    if info.get("problems"):
        print("\nnot measured / to do:\n" + "\n".join(f"- {p}" for p in info["problems"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the suite; see the module docstring for the exit status."""
    args_list = sys.argv[1:] if argv is None else argv
    args = parse(args_list)
    if args.show is not None:
        return show(args.show, args.markdown)
    try:
        groups = _suite.groups_from(args.only)
    except ValueError as error:
        print(f"python -m benchmarks: {error}", file=sys.stderr)
        return 2
    if args.compare_tree is not None and not (args.compare_tree / "mock_server").is_dir():
        print(f"python -m benchmarks: {args.compare_tree} has no mock_server/", file=sys.stderr)
        return 2
    if {"http", "memory", "servers"} & set(groups):
        try:
            find_wrk()
        except WrkMissing as error:
            print(error, file=sys.stderr)
            return 2
    options = _suite.Options(
        seconds=3.0 if args.quick else args.duration,
        warmup_seconds=1.0 if args.quick else 2.0,
        cold_requests=args.cold_requests or (20_000 if args.quick else 100_000),
        groups=groups,
        compare_tree=args.compare_tree.resolve() if args.compare_tree else None,
    )
    install_cleanup()
    info = _report.context(args_list)
    started = time.monotonic()
    try:
        result = _suite.run(options)
    except KeyboardInterrupt:
        stop_all()
        print("\ninterrupted: servers stopped, no results written", file=sys.stderr)
        return 130
    except ServerFailed as error:
        stop_all()
        print(f"python -m benchmarks: {error}", file=sys.stderr)
        return 3
    except WrkFailed as error:
        stop_all()
        print(f"python -m benchmarks: {error}", file=sys.stderr)
        return 3
    info["seconds"] = round(time.monotonic() - started, 1)
    info["problems"] = result.problems
    print()
    print(_report.table(result.rows, markdown=args.markdown))
    if any(row.note for row in result.rows):
        print("\nnotes:\n" + _report.notes(result.rows))
    if result.problems:
        print("\nnot measured / to do:\n" + "\n".join(f"- {p}" for p in result.problems))
    path = _report.write_json(result.rows, info, args.out)
    print(f"\nresults written to {path} ({info['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
