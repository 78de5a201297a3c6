"""Notices per second through `pdfs.render` against bare WeasyPrint on the same HTML, in one run.

    .venv/bin/python -m bench.notices [--renders 500] [--naive 20]

* `pdfs.render`: fact checks, Jinja template, QR code, then WeasyPrint with the process-wide FontConfiguration and
  the stylesheet parsed once.
* bare WeasyPrint: `HTML(string=html).write_pdf(font_config=fc)` on the very HTML `pdfs.render` lays out (the
  stylesheet inlined, templating done beforehand), with one FontConfiguration of its own. The two are interleaved
  render by render, so a noisy machine slows both alike. Target: pdfs.render within 10% of it, >= 3 notices/s.
* naive WeasyPrint (`--naive`, short): `HTML(string=html).write_pdf()` with no FontConfiguration, i.e. a new one
  per render. It runs last, because it is what makes resident memory climb.

Resident memory (VmRSS from /proc/self/status) is printed at the start, after 50 and after all renders: it must
stay flat."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/notices.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_RATE = 3.0
TARGET_OVERHEAD = 0.10


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.notices", description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=500, help="renders through pdfs.render (default 500)")
    parser.add_argument("--naive", type=int, default=20,
                        help="renders with a new FontConfiguration each, run last (default 20; 0 skips)")
    parser.add_argument("--kind", action="append", help="notice kind(s) to render (default: every kind in turn)")
    args = parser.parse_args(argv)
    if args.renders < 1:
        parser.error("--renders must be at least 1")

    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    import pdfs
    from pdfs.rendering import weasy_objects
    from pdfs.samples import SAMPLE_KINDS, sample_facts

    kinds = args.kind or list(SAMPLE_KINDS)
    unknown = [k for k in kinds if k not in pdfs.KINDS]
    if unknown:
        parser.error(f"unknown kind(s): {', '.join(unknown)}")
    facts = {kind: sample_facts(kind) for kind in kinds}
    start_rss = rss_mb()
    print(f"pid {os.getpid()}, {len(kinds)} kind(s), {args.renders} renders each way; RSS at start {start_rss:.0f} MB")

    # Build the process-wide objects and warm the font caches once, outside the timings (the first render of a
    # process loads the CJK fonts: about a second).
    started = time.perf_counter()
    weasy_objects()
    bare_fonts = FontConfiguration()
    html = {kind: pdfs.render_html(kind, facts[kind], inline_css=True) for kind in kinds}
    for kind in kinds:
        pdfs.render(kind, facts[kind])
        HTML(string=html[kind]).write_pdf(font_config=bare_fonts)
    print(f"warm-up (fonts, stylesheet, one render of each kind both ways): {time.perf_counter() - started:.2f} s")

    ours_wall: list[float] = []
    bare_wall: list[float] = []
    ours_cpu = bare_cpu = 0.0
    rss_marks: list[tuple[int, float]] = [(0, rss_mb())]
    sizes: list[int] = []
    for i in range(args.renders):
        kind = kinds[i % len(kinds)]
        wall, cpu = time.perf_counter(), time.process_time()
        pdf = pdfs.render(kind, facts[kind])
        ours_wall.append(time.perf_counter() - wall)
        ours_cpu += time.process_time() - cpu
        sizes.append(len(pdf))

        wall, cpu = time.perf_counter(), time.process_time()
        HTML(string=html[kind]).write_pdf(font_config=bare_fonts)
        bare_wall.append(time.perf_counter() - wall)
        bare_cpu += time.process_time() - cpu
        done = i + 1
        if done in (50, args.renders) or done % 100 == 0:
            rss_marks.append((done, rss_mb()))
            print(f"  {done:>5} renders each way  RSS {rss_marks[-1][1]:7.0f} MB  "
                  f"pdfs.render {statistics.median(ours_wall) * 1000:6.0f} ms median", flush=True)

    n = args.renders
    ours_rate, bare_rate = _rate(n, sum(ours_wall)), _rate(n, sum(bare_wall))
    ours_cpu_rate, bare_cpu_rate = _rate(n, ours_cpu), _rate(n, bare_cpu)
    ratio = ours_rate / bare_rate
    cpu_ratio = ours_cpu_rate / bare_cpu_rate
    print()
    print(f"{'':24}{'notices/s (wall)':>18}{'per CPU-second':>16}{'median ms':>11}{'p95 ms':>9}")
    for name, rate, cpu_rate, walls in (("pdfs.render", ours_rate, ours_cpu_rate, ours_wall),
                                        ("bare WeasyPrint", bare_rate, bare_cpu_rate, bare_wall)):
        p95 = sorted(walls)[max(0, int(len(walls) * 0.95) - 1)]
        print(f"{name:24}{rate:18.2f}{cpu_rate:16.2f}{statistics.median(walls) * 1000:11.0f}{p95 * 1000:9.0f}")
    print(f"ratio pdfs.render / bare: {ratio:.3f} (wall), {cpu_ratio:.3f} (CPU); "
          f"mean PDF size {statistics.mean(sizes) / 1024:.0f} KiB")
    marks = ", ".join(f"{count}: {mb:.0f} MB" for count, mb in rss_marks)
    after_50 = next((mb for count, mb in rss_marks if count >= 50), rss_marks[-1][1])
    growth = rss_marks[-1][1] - after_50
    print(f"RSS at start {start_rss:.0f} MB; after renders (each way) {marks}; growth after 50: {growth:+.0f} MB")

    ok_rate = ours_rate >= TARGET_RATE
    ok_ratio = max(ratio, cpu_ratio) >= 1 - TARGET_OVERHEAD
    ok_memory = n < 100 or growth < 50
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        load = loadavg.read().split()[0]
    print(f"machine: {os.cpu_count()} CPU(s), load average {load} (wall rates drop when other processes compete; "
          "the per-CPU-second rate is what one process gets with a core to itself)")
    print(f"targets: >= {TARGET_RATE:g}/s {'met' if ok_rate else 'MISSED'}; "
          f"within {TARGET_OVERHEAD:.0%} of bare {'met' if ok_ratio else 'MISSED'}; "
          f"memory flat {'met' if ok_memory else 'MISSED'}"
          + (" (fewer than 100 renders: not judged)" if n < 100 else ""))

    if args.naive > 0:
        kind = kinds[0]
        before = rss_mb()
        wall = time.perf_counter()
        for i in range(args.naive):
            HTML(string=html[kind]).write_pdf()  # a new FontConfiguration, fontconfig set-up and font cache each
            if i + 1 in (1, 10, args.naive):
                print(f"  naive WeasyPrint: {i + 1:>3} renders  RSS {rss_mb():7.0f} MB", flush=True)
        naive_rate = _rate(args.naive, time.perf_counter() - wall)
        print(f"naive WeasyPrint (new FontConfiguration per render): {naive_rate:.2f}/s, "
              f"RSS {before:.0f} -> {rss_mb():.0f} MB over {args.naive} renders")
    return 0 if ok_rate and ok_memory else 1


if __name__ == "__main__":
    sys.exit(main())
