"""Every benchmark in bench/, one after the other (`make bench`), then a summary of their target lines.

    .venv/bin/python -m bench.all                  # every module present (notices with fewer renders)
    .venv/bin/python -m bench.all lifecycle sweep  # only these
    .venv/bin/python -m bench.all --full           # every module with its own (longer) defaults
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.all

Each module has `main(argv) -> int` and prints its own figures; each runs in a process of its own, and one that
fails or misses a target does not stop the others. Timings are printed, never asserted: they depend on the machine
(and on what else it is running)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/all.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# In this order: the engine's own lifecycle first, then the issues built on it.
MODULES = ["lifecycle", "sweep", "notices", "claims", "ledger", "pages"]
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# Lighter than the modules' own defaults so that `make bench` stays within about ten minutes on a small machine;
# `--full` runs every module with its own defaults. The rates are the same, only their spread is wider.
QUICK_ARGS = {"notices": ["--renders", "150", "--naive", "10"]}
# Lines worth repeating in the summary: targets and ratios.
SUMMARY_RE = re.compile(r"target|\bratio\b|MISSED|\bmet\b", re.IGNORECASE)


def available() -> list[str]:
    present = [m for m in MODULES if (BENCH_DIR / f"{m}.py").is_file()]
    # Modules added later without being listed here still run, after the known ones; helpers (_name.py) do not.
    extra = sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_")
                   and p.stem not in MODULES and p.stem != "all")
    return present + extra


def run(name: str, args: list[str]) -> tuple[int | None, float, str]:
    """Run `python -m bench.<name> args` in a process of its own (peak memory, caches and global settings are then
    the module's own), echoing its output; (exit status or None when it could not start, seconds, output)."""
    started = time.perf_counter()
    lines: list[str] = []
    try:
        process = subprocess.Popen(
            [sys.executable, "-u", "-m", f"bench.{name}", *args], cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace",
        )
    except OSError as exc:
        return None, 0.0, f"could not start: {exc}"
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line)
    status = process.wait()
    return status, time.perf_counter() - started, "".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    full = "--full" in argv
    argv = [a for a in argv if a != "--full"]
    names = available()
    if argv:
        unknown = [a for a in argv if a not in names]
        if unknown:
            print(f"unknown benchmark(s) {unknown}; present: {names}", file=sys.stderr)
            return 2
        names = argv
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    print(f"benchmarks: {', '.join(names)}; PostgreSQL: {pg.rsplit('@', 1)[-1] if pg else 'not set (SQLite only)'}; "
          f"{os.cpu_count()} CPU(s)", flush=True)
    results = []
    for name in names:
        print(f"\n===== bench.{name} " + "=" * (60 - len(name)), flush=True)
        status, seconds, output = run(name, [] if full else QUICK_ARGS.get(name, []))
        results.append((name, status, seconds, output))
        print(f"----- bench.{name}: {'crashed' if status is None else f'exit {status}'} after {seconds:.0f} s",
              flush=True)

    print("\n===== summary " + "=" * 52)
    for name, status, seconds, output in results:
        state = "crashed" if status is None else ("ok" if status == 0 else f"exit {status}")
        print(f"bench.{name} ({state}, {seconds:.0f} s)")
        for line in output.splitlines():
            if SUMMARY_RE.search(line) and not line.lstrip().startswith(("File ", "Traceback", "INFO ")):
                print("   " + line.strip()[:200])
    return 0 if all(status == 0 for _, status, _, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
