#!/usr/bin/env python3
"""Turns keyward_bench's JSON output into ratios: checks the deterministic targets (exit 1 when an
allocation shows up on the hot path or the refresh storm makes other than one refresh), prints the
timing targets, and with --markdown writes bench/RESULTS.md.

    python3 bench/report.py --check RESULTS.json [--instr INSTR.txt] [--markdown OUT.md]
"""
import argparse
import datetime
import json
import platform
import subprocess
import sys

DESIGNS = ["Floor", "Keyward", "Mutex", "SharedMutex", "AtomicSharedPtr"]
THREADS = [1, 2, 4]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        runs[b["run_name"]] = b
    return data["context"], runs


def ns(run):
    return run["real_time"] * UNIT_NS[run["time_unit"]]


def acquire(runs, design, threads, writer=False):
    name = f"BM_Acquire_{design}{'_Writer' if writer else ''}/real_time/threads:{threads}"
    return runs.get(name)


def check(runs):
    """The deterministic targets: failures here fail CI."""
    failures = []
    for name, run in sorted(runs.items()):
        if (name.startswith("BM_Acquire_Keyward") or name.startswith("BM_Select")) and run.get(
                "allocs", 0) != 0:
            failures.append(f"{name}: {run['allocs']:g} allocations per read on the hot path")
    storm = runs.get("BM_Refresh_Storm/iterations:20/real_time")
    if storm is None:
        failures.append("BM_Refresh_Storm did not run")
    elif storm["refresh_calls"] != 1:
        failures.append(f"BM_Refresh_Storm: {storm['refresh_calls']:g} refreshes per storm, not 1")
    return failures


def timing_targets(runs):
    """The timing targets: (description, measured, target, met)."""
    out = []
    floor1, floor2 = acquire(runs, "Floor", 1), acquire(runs, "Floor", 2)
    kw1, kw2 = acquire(runs, "Keyward", 1), acquire(runs, "Keyward", 2)
    mutex2 = acquire(runs, "Mutex", 2)
    if not all([floor1, floor2, kw1, kw2, mutex2]):
        return out
    r1, r2 = ns(kw1) / ns(floor1), ns(kw2) / ns(floor2)
    out.append(("BM_Acquire_Keyward / BM_Acquire_Floor, 1 thread", f"{r1:.2f}x", "<= 3x", r1 <= 3))
    out.append(("BM_Acquire_Keyward / BM_Acquire_Floor, 2 threads", f"{r2:.2f}x", "<= 3x", r2 <= 3))
    speedup = ns(mutex2) / ns(kw2)
    out.append(("BM_Acquire_Mutex / BM_Acquire_Keyward, 2 threads", f"{speedup:.0f}x", ">= 10x",
                speedup >= 10))
    scaling = ns(kw1) / ns(kw2)
    out.append(("BM_Acquire_Keyward throughput, 2 threads / 1 thread", f"{scaling:.2f}x", ">= 1.8x",
                scaling >= 1.8))
    return out


def compiler_version():
    try:
        return subprocess.run(["g++", "--version"], capture_output=True, text=True,
                              check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown(context, runs, instr):
    lines = []
    add = lines.append
    add("# keyward benchmark results")
    add("")
    add("Written by `bash bench/run` (release preset: `-O3 -DNDEBUG`; Google Benchmark, 3 "
        "repetitions, medians). Times are wall-clock nanoseconds per operation over all threads "
        "(`UseRealTime`), so at 2 threads half the single-thread time means twice the throughput. "
        "Shared machines are noisy: compare ratios within this file, not with other runs.")
    add("")
    add(f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    add(f"- Machine: {platform.machine()}, {context.get('num_cpus')} CPUs at "
        f"{context.get('mhz_per_cpu')} MHz, load average "
        f"{', '.join(f'{x:.2f}' for x in context.get('load_avg', []))} at start")
    add(f"- Compiler: {compiler_version()}")
    add(f"- Google Benchmark library build: {context.get('library_build_type')}")
    add("")
    add("## Targets")
    add("")
    add("| target | measured | required | met |")
    add("|---|---|---|---|")
    for desc, measured, target, met in timing_targets(runs):
        add(f"| {desc} | {measured} | {target} | {'yes' if met else 'NO'} |")
    failures = check(runs)
    add(f"| allocations on the hot path (every BM_Acquire_Keyward*, BM_Select*) | "
        f"{'0' if not any('allocations' in f for f in failures) else 'not 0'} | 0 | "
        f"{'yes' if not any('allocations' in f for f in failures) else 'NO'} |")
    storm = runs.get("BM_Refresh_Storm/iterations:20/real_time")
    if storm:
        add(f"| refreshes per storm of 64 threads | {storm['refresh_calls']:g} | 1 | "
            f"{'yes' if storm['refresh_calls'] == 1 else 'NO'} |")
    add("")
    for writer in (False, True):
        add("## The hot path" + (", with a writer publishing every millisecond" if writer else ""))
        add("")
        add("Reading the current token and state, ready to attach. ns per read; × floor is the "
            "ratio to `BM_Acquire_Floor` at the same thread count.")
        add("")
        add("| design | 1 thread | × floor | 2 threads | × floor | 4 threads | × floor | "
            "2T/1T throughput | allocs/read |")
        add("|---|---|---|---|---|---|---|---|---|")
        for design in DESIGNS:
            row = [f"`BM_Acquire_{design}{'_Writer' if writer else ''}`"]
            allocs = 0.0
            for t in THREADS:
                run, floor = acquire(runs, design, t, writer), acquire(runs, "Floor", t, writer)
                if run is None or floor is None:
                    row += ["-", "-"]
                    continue
                row += [f"{ns(run):.2f}", f"{ns(run) / ns(floor):.1f}"]
                allocs = max(allocs, run.get("allocs", 0))
            one, two = acquire(runs, design, 1, writer), acquire(runs, design, 2, writer)
            row.append(f"{ns(one) / ns(two):.2f}x" if one and two else "-")
            row.append(f"{allocs:g}")
            add("| " + " | ".join(row) + " |")
        add("")
        add("keyward against each baseline (how many times faster keyward reads):")
        add("")
        add("| baseline | 1 thread | 2 threads | 4 threads |")
        add("|---|---|---|---|")
        for design in DESIGNS[2:]:
            cells = []
            for t in THREADS:
                base, kw = acquire(runs, design, t, writer), acquire(runs, "Keyward", t, writer)
                cells.append(f"{ns(base) / ns(kw):.0f}x" if base and kw else "-")
            add(f"| `BM_Acquire_{design}` | " + " | ".join(cells) + " |")
        add("")
    add("## Choosing among N credentials")
    add("")
    add("All but the last are cooling, so each choice reads every snapshot. keyward's pools are "
        "not built yet; this is the read side a pool will do.")
    add("")
    add("| credentials | ns per choice | × floor (1 thread) | allocs |")
    add("|---|---|---|---|")
    floor1 = acquire(runs, "Floor", 1)
    for n in (1, 4, 16):
        run = runs.get(f"BM_Select_ScanToReady/{n}")
        if run:
            add(f"| {n} | {ns(run):.2f} | {ns(run) / ns(floor1):.1f} | {run.get('allocs', 0):g} |")
    add("")
    add("## The whole send()")
    add("")
    add("Against a transport that answers 200 at once; `BM_Send_Direct` builds the same request "
        "and header by hand and calls the transport.")
    add("")
    add("| threads | direct ns | keyward ns | keyward / direct | allocs direct | allocs keyward |")
    add("|---|---|---|---|---|---|")
    for t in (1, 2):
        d = runs.get(f"BM_Send_Direct/real_time/threads:{t}")
        k = runs.get(f"BM_Send_Keyward/real_time/threads:{t}")
        if d and k:
            add(f"| {t} | {ns(d):.1f} | {ns(k):.1f} | {ns(k) / ns(d):.2f}x | "
                f"{d.get('allocs', 0):g} | {k.get('allocs', 0):g} |")
    add("")
    if storm:
        add("## The single-flight storm")
        add("")
        add("64 threads call send() on an expired token; the token endpoint takes 2 ms. 20 storms.")
        add("")
        add("| refreshes per storm | waiters woken after the refresh: p50 | p99 | max |")
        add("|---|---|---|---|")
        add(f"| {storm['refresh_calls']:g} | {storm['wake_p50_us']:.0f} µs | "
            f"{storm['wake_p99_us']:.0f} µs | {storm['wake_max_us']:.0f} µs |")
        add("")
    add("## Classifying and parsing")
    add("")
    add("| benchmark | ns |")
    add("|---|---|")
    for name, run in sorted(runs.items()):
        if name.startswith("BM_Classify_") or name.startswith("BM_Parse_"):
            add(f"| `{name}` | {ns(run):.0f} |")
    add("")
    if instr:
        add("## Instructions per operation (callgrind)")
        add("")
        add("Counted by `valgrind --tool=callgrind` on `keyward_instr`, at 100,000 and 200,000 "
            "operations; the difference divided by 100,000. Repeatable where time is not.")
        add("")
        add("| operation | instructions | ratio |")
        add("|---|---|---|")
        base = {"acquire": "floor", "send_keyward": "send_direct"}
        for case, per_op in instr.items():
            ratio = f"{per_op / instr[base[case]]:.1f}x {base[case]}" if case in base else ""
            add(f"| `{case}` | {per_op:.0f} | {ratio} |")
        add("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--instr")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    context, runs = load(args.results)

    print("timing targets (reported, not enforced: shared machines are noisy):")
    for desc, measured, target, met in timing_targets(runs):
        print(f"  {'ok  ' if met else 'MISS'} {desc}: {measured} (target {target})")
    storm = runs.get("BM_Refresh_Storm/iterations:20/real_time")
    if storm:
        print(f"  storm: {storm['refresh_calls']:g} refresh per storm, waiters woken "
              f"p50 {storm['wake_p50_us']:.0f} us, max {storm['wake_max_us']:.0f} us")

    instr = {}
    if args.instr:
        with open(args.instr) as f:
            for line in f:
                case, small, large, step = line.split()
                instr[case] = (int(large) - int(small)) / int(step)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(context, runs, instr) + "\n")
        print(f"wrote {args.markdown}")

    failures = check(runs) if args.check else []
    for failure in failures:
        print(f"FAIL {failure}")
    print("deterministic checks: " + ("failed" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
