#!/usr/bin/env python3
"""Turns keyward_bench's JSON output and keyward_instr's instruction counts into ratios.

Fails (exit 1) on what is deterministic: an allocation on the hot path, more allocations in
keyward's send() than in the direct baseline's, more in a pool's send() than in the single
credential's, a refresh storm with other than one refresh, and an instruction ratio over its target
plus margin (for the targets listed in ENFORCED). Times are
printed beside, never enforced: shared machines are noisy. With --markdown, writes bench/RESULTS.md.

    python3 bench/report.py --check RESULTS.json [--instr INSTR.txt] [--profiles DIR]
                            [--markdown OUT.md]
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

DESIGNS = ["Floor", "Keyward", "Mutex", "SharedMutex", "AtomicSharedPtr"]
THREADS = [1, 2, 4]
BODIES = ["empty", "message", "embeddings", "stream"]
POOL_SIZES = [1, 16, 17, 128, 1000]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
STORM = "BM_Refresh_Storm/iterations:20/real_time"

# The instruction targets: keyward's case over its baseline's, per operation, counted by callgrind.
# The margin absorbs what moves instruction counts between toolchains (g++ and libstdc++ versions,
# the memcpy variant glibc picks for the CPU): a few instructions in a read, a few tens in a send.
# It stays below what any real regression costs: one more allocation is 100+ instructions (0.1 of
# an empty send), one more mutex round trip 60 (0.5 of a read).
MARGIN = 0.05
SELECTIONS = ("priority", "round_robin", "least_recently_used", "weighted")
INSTRUCTION_TARGETS = {
    **{f"send_{body}": (f"keyward send / direct send, {body} body", f"send_keyward_{body}",
                        f"send_direct_{body}", 1.2, f"BM_Send_Keyward/{body}",
                        f"BM_Send_Direct/{body}")
       for body in BODIES},
    "acquire": ("keyward acquire / floor, `Bearer <token>` appended", "acquire", "floor", 1.3,
                "BM_Acquire_Keyward", "BM_Acquire_Floor"),
    "in_turn": ("in-turn read of 1000 credentials / of 1", "in_turn_1000", "in_turn_1", 1.5,
                "BM_Acquire_InTurn/1000", "BM_Acquire_InTurn/1"),
    # The pool is the same driver as the single credential: its send within 1.1x of
    # ResilientCredential's, at 1 and 128 profiles, for every selection.
    **{f"pool_{n}_{sel}": (f"pool of {n} send / single-credential send, {sel}",
                           f"send_pool_{n}_{sel}", "send_keyward_empty", 1.1,
                           f"BM_Send_Pool/{sel}/{n}", "BM_Send_Keyward/empty")
       for sel in SELECTIONS for n in (1, 128)},
    # "At memory speed": what glibc's memchr takes to look at every byte once is the yardstick;
    # the classifier reads a healthy stream within a small multiple of it.
    "stream_scan": ("classify::Anthropic on a healthy stream / one memchr over it",
                    "classify_stream", "memchr_stream", 3.0, "BM_Classify_Anthropic_Stream_2xx",
                    "BM_Classify_Baseline_MemchrStream_2xx"),
    # Issue 23: an asynchronous send over a loopback server (bench/async_bench.cpp), keyward
    # (AsyncCredential over transport::AsyncCurl) against a careful hand-written asio + curl-multi
    # client doing the same request. No Google Benchmark counterpart: callgrind only.
    "async_send": ("keyward async send / hand-written asio + curl-multi, loopback server",
                   "async_send_keyward", "async_send_handwritten", 1.2, None, None),
}

# Targets the library misses today, enforced at a ceiling until it meets them (the table shows the
# target, and the ceiling beside it): a regression fails CI meanwhile. None today.
CEILINGS: dict[str, float] = {}

# The instruction targets the short pass fails on. Every target is on, including those the
# library misses today: remove a key here to report a target without failing on it.
ENFORCED = ["send_empty", "send_message", "send_embeddings", "send_stream", "acquire", "in_turn",
            "stream_scan", *(f"pool_{n}_{sel}" for sel in SELECTIONS for n in (1, 128)),
            # Its count moves by a few percent between runs (real I/O: how the loop's wake-ups
            # fall, what malloc finds free; bench/run keeps the median of three), well inside the
            # gate's margin: 1.05x and 1.11x measured.
            "async_send"]

# What each instruction case measures, for the tables.
CASES = {
    "floor": "the floor: one atomic load, `Bearer <token>` appended",
    "acquire": "keyward's with_current, `Bearer <token>` appended",
    "in_turn_1": "keyward, credential i % 1 of a pool of 1",
    "in_turn_1000": "keyward, credential i % 1000 of a pool of 1000",
    **{f"send_direct_{body}": f"direct send, {body} body" for body in BODIES},
    **{f"send_keyward_{body}": f"keyward send, {body} body" for body in BODIES},
    **{f"send_pool_{n}_{sel}": f"pool of {n} API keys, {sel}, empty body"
       for sel in SELECTIONS for n in (1, 128)},
    "classify_stream": "classify::Anthropic on a healthy 200 stream",
    "async_send_handwritten": "hand-written asio + curl-multi client, one send over loopback",
    "async_send_keyward": "keyward AsyncCredential + AsyncCurl, one send over loopback",
    "memchr_stream": "one memchr over the same stream, for a byte it does not hold",
}


def load(path):
    with open(path) as f:
        data = json.load(f)
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        runs[b["run_name"]] = b
    return data["context"], runs


def load_instr(path):
    """case -> (instructions per operation, body bytes per operation)."""
    instr = {}
    if path:
        with open(path) as f:
            for line in f:
                case, small, large, step, size = line.split()
                instr[case] = ((int(large) - int(small)) / int(step), int(size))
    return instr


def load_async_allocs(path):
    """case -> (global operator new calls per send, handler-allocator calls per send), from
    keyward_async_bench --allocs."""
    out = {}
    if path:
        with open(path) as f:
            for line in f:
                case, news, handler = line.split()
                out[case] = (float(news), float(handler))
    return out


def async_alloc_results(allocs):
    """(description, measured, required, met, enforced) for the asynchronous send's allocations."""
    if not allocs:
        return []
    hand = allocs.get("async_send_handwritten")
    alone = allocs.get("async_send_transport")
    kw = allocs.get("async_send_keyward")
    if not (hand and alone and kw):
        return [("allocations of an asynchronous send", "not measured", "measured", False, True)]
    return [
        # What the operation allocates goes through its handler's allocator: its State, once.
        ("async send: calls to the completion handler's allocator per send (the operation's "
         "state)", f"{kw[1]:g}", "1", abs(kw[1] - 1.0) < 1e-9, True),
        # Reported: the transport's own count moves with how the loop's wake-ups fall (each wait
        # on a socket copies its strand executor), between about 15 and 28 per send.
        ("async send: global allocations per send, keyward / AsyncCurl alone / hand-written "
         "(requests' own left out)", f"{kw[0]:g} / {alone[0]:g} / {hand[0]:g}",
         "keyward <= hand-written + handler's", kw[0] <= hand[0] + kw[1] + 1e-6, False),
    ]


def ns(run):
    return run["real_time"] * UNIT_NS[run["time_unit"]]


def timed(runs, name, threads):
    """A benchmark that uses real time, at a thread count."""
    return runs.get(f"{name}/real_time/threads:{threads}")


def acquire(runs, design, threads, writer=False):
    return timed(runs, f"BM_Acquire_{design}{'_Writer' if writer else ''}", threads)


def time_ratio(runs, numerator, denominator, threads):
    a, b = timed(runs, numerator, threads), timed(runs, denominator, threads)
    return ns(a) / ns(b) if a and b else None


def instruction_results(instr):
    """(key, description, ratio or None, target, limit, met, enforced) per instruction target."""
    out = []
    for key, (desc, case, base, target, _, _) in INSTRUCTION_TARGETS.items():
        ratio = instr[case][0] / instr[base][0] if case in instr and base in instr else None
        limit = target + MARGIN
        met = ratio is not None and ratio <= limit
        out.append((key, desc, ratio, target, limit, met, key in ENFORCED))
    return out


def check(runs, instr, async_allocs=None):
    """The deterministic targets: failures here fail CI."""
    failures = []
    for desc, measured, required, met, enforced in async_alloc_results(async_allocs or {}):
        if enforced and not met:
            failures.append(f"{desc}: {measured} (required {required})")
    for name, run in sorted(runs.items()):
        keyward_read = (name.startswith("BM_Acquire_Keyward") or
                        name.startswith("BM_Acquire_InTurn/") or name.startswith("BM_Select") or
                        name.startswith("BM_Pool_"))
        if keyward_read and run.get("allocs", 0) != 0:
            failures.append(f"{name}: {run['allocs']:g} allocations per read on the hot path")
    for body in BODIES:
        for t in (1, 2):
            d = timed(runs, f"BM_Send_Direct/{body}", t)
            k = timed(runs, f"BM_Send_Keyward/{body}", t)
            if d is None or k is None:
                failures.append(f"BM_Send_*/{body} at {t} thread(s) did not run")
            elif k["allocs"] > d["allocs"] + 1e-6:
                failures.append(f"BM_Send_Keyward/{body}, {t} thread(s): {k['allocs']:g} "
                                f"allocations per send, direct {d['allocs']:g}")
    # The pool's send allocates no more than the single credential's (issue 20, "same cost").
    single = timed(runs, "BM_Send_Keyward/empty", 1)
    for sel in SELECTIONS:
        for n in (1, 128):
            pool = timed(runs, f"BM_Send_Pool/{sel}/{n}", 1)
            if pool is None or single is None:
                failures.append(f"BM_Send_Pool/{sel}/{n} or BM_Send_Keyward/empty did not run")
            elif pool["allocs"] > single["allocs"] + 1e-6:
                failures.append(f"BM_Send_Pool/{sel}/{n}: {pool['allocs']:g} allocations per "
                                f"send, single credential {single['allocs']:g}")
    storm = runs.get(STORM)
    if storm is None:
        failures.append("BM_Refresh_Storm did not run")
    elif storm["refresh_calls"] != 1:
        failures.append(f"BM_Refresh_Storm: {storm['refresh_calls']:g} refreshes per storm, not 1")
    if instr:
        for key, desc, ratio, target, limit, met, enforced in instruction_results(instr):
            measured = "not measured" if ratio is None else f"{ratio:.2f}x"
            if key in CEILINGS and (ratio is None or ratio > CEILINGS[key]):
                failures.append(f"instructions, {desc}: {measured} (target {target}x, missed; "
                                f"fails above its ceiling {CEILINGS[key]:.2f}x)")
            if not enforced or met:
                continue
            failures.append(f"instructions, {desc}: {measured} (target {target}x, fails above "
                            f"{limit:.2f}x)")
    return failures


def timing_targets(runs):
    """The targets on time alone: (description, measured, target, met, threads measured at)."""
    out = []
    for threads, wanted in ((1, 5), (2, 20)):
        kw, mutex, floor = (acquire(runs, d, threads) for d in ("Keyward", "Mutex", "Floor"))
        if not (kw and mutex and floor):
            continue
        speedup = ns(mutex) / ns(kw)
        # Both designs do the floor's work (read the token, append the header); what each adds
        # to it is what the design costs.
        added = (ns(mutex) - ns(floor)) / max(ns(kw) - ns(floor), 1e-3)
        out.append((f"BM_Acquire_Mutex / BM_Acquire_Keyward, {threads} thread(s) (time each adds "
                    f"to the floor: {added:.1f}x)", f"{speedup:.1f}x", f">= {wanted}x",
                    speedup >= wanted, threads))
    kw1, kw2 = acquire(runs, "Keyward", 1), acquire(runs, "Keyward", 2)
    if kw1 and kw2:
        scaling = ns(kw1) / ns(kw2)
        out.append(("BM_Acquire_Keyward throughput, 2 threads / 1 thread", f"{scaling:.2f}x",
                    ">= 1.8x", scaling >= 1.8, 1))
    return out


def short_name(name):
    """A function name from callgrind without template arguments and parameter lists."""
    name = re.sub(r" \[clone [^]]*\]", "", name)
    while True:
        shorter = re.sub(r"<[^<>]*>", "<>", name)
        shorter = re.sub(r"\((?!anonymous namespace\))[^()]*\)", "()", shorter)
        if shorter == name:
            name = name.replace("(anonymous namespace)::", "")
            return name if len(name) <= 100 else name[:99] + "…"
        name = shorter


def profile(profiles, case, step):
    """Instructions per operation of each function (self cost) in `case`, from the difference of
    its two callgrind profiles; empty when they are missing."""
    def table(path):
        out = subprocess.run(["callgrind_annotate", "--threshold=100", path],
                             capture_output=True, text=True, check=False).stdout
        costs = {}
        for line in out.splitlines():
            m = re.match(r"\s*([\d,]+) \([ \d.]+%\)\s+(.*)$", line)
            if not m or "PROGRAM TOTALS" in line:
                continue
            name = re.sub(r" \[/[^]]*\]$", "", m.group(2))
            name = short_name(re.sub(r"^(\?\?\?|\./\S+?\.(c|S|h|cc|cpp)):", "", name))
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
        return costs

    if not profiles or not os.path.isdir(profiles):
        return {}
    paths = sorted((os.path.join(profiles, f) for f in os.listdir(profiles)
                    if f.startswith(case + ".") and f.endswith(".out")),
                   key=lambda p: int(p.split(".")[-2]))
    if len(paths) != 2:
        return {}
    small, large = table(paths[0]), table(paths[1])
    return {k: (large.get(k, 0) - small.get(k, 0)) / step for k in set(small) | set(large)}


def added_costs(profiles, steps, case, base=None, top=8):
    """The functions that cost `case` the most instructions per operation beyond `base` (or in
    all, without a base): [(instructions, function)]."""
    costs = profile(profiles, case, steps.get(case, 1))
    if base:
        for name, cost in profile(profiles, base, steps.get(base, 1)).items():
            costs[name] = costs.get(name, 0) - cost
    return sorted(((c, n) for n, c in costs.items() if c >= 1), reverse=True)[:top]


def compiler_version():
    try:
        return subprocess.run(["g++", "--version"], capture_output=True, text=True,
                              check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def fmt_ratio(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}x"


def load_compile_times(path):
    """[(unit, mode, wall seconds, user seconds)] from bench/run's compile_times.txt."""
    if not path:
        return []
    with open(path) as f:
        return [(name, mode, float(wall), float(user)) for name, mode, wall, user in
                (line.split() for line in f if line.strip())]


COMPILE_UNITS = {
    "single": "one `ResilientCredential` with `provider::Anthropic`",
    "pool": "one `CredentialPool` with `provider::Anthropic`",
    "curl": "one `ResilientCredential<transport::Curl, provider::Anthropic>`",
    "src": "`keyward/impl/src.hpp`, compiled once per program",
}


def enforced_cell(key, enforced):
    if enforced:
        return "yes"
    return f"at its ceiling, {CEILINGS[key]}x" if key in CEILINGS else "no"


def markdown(context, runs, instr, profiles, steps, compile_times=(), async_allocs=None):
    lines = []
    add = lines.append
    add("# keyward benchmark results")
    add("")
    add("Written by `bash bench/run` (release preset: `-O3 -DNDEBUG`; Google Benchmark, 3 "
        "repetitions, medians; valgrind's callgrind for instruction counts). Times are wall-clock "
        "nanoseconds per operation over all threads (`UseRealTime`), so at 2 threads half the "
        "single-thread time means twice the throughput. Shared machines are noisy: compare ratios "
        "within this file, not with other runs. Instruction counts are repeatable to the "
        "instruction; `bash bench/run --short` (CI) fails on them.")
    add("")
    add(f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
    add(f"- Machine: {platform.machine()}, {context.get('num_cpus')} CPUs at "
        f"{context.get('mhz_per_cpu')} MHz, load average "
        f"{', '.join(f'{x:.2f}' for x in context.get('load_avg', []))} at start")
    add(f"- Compiler: {compiler_version()}")
    add(f"- Google Benchmark library build: {context.get('library_build_type')}")
    load_avg, cpus = context.get("load_avg", []), context.get("num_cpus") or 1
    if load_avg and load_avg[0] >= cpus / 2:
        add("")
        add(f"Other work was running (load {load_avg[0]:.2f} on {cpus} CPUs): times at 2 threads "
            "and more measure the scheduler as much as keyward, so their scaling figures say "
            "little. Instruction counts are unaffected.")
    add("")

    add("## Targets")
    add("")
    add(f"Instruction ratios are per operation; a gate fails above the target plus {MARGIN} "
        "(the margin absorbs toolchain differences, see `bench/report.py`). Time ratios are "
        "beside them, at 1 and 2 threads, and are not enforced.")
    add("")
    add("| target | instructions | required | met | time, 1 thread | time, 2 threads | "
        "enforced by `--short` |")
    add("|---|---|---|---|---|---|---|")
    for key, desc, ratio, target, limit, met, enforced in instruction_results(instr):
        _, _, _, _, num, den = INSTRUCTION_TARGETS[key]
        add(f"| {desc} | {fmt_ratio(ratio)} | <= {target}x (gate {limit:.2f}x) | "
            f"{'yes' if met else 'NO'} | {fmt_ratio(time_ratio(runs, num, den, 1))} | "
            f"{fmt_ratio(time_ratio(runs, num, den, 2))} | {enforced_cell(key, enforced)} |")
    for desc, measured, required, met, enforced in async_alloc_results(async_allocs or {}):
        add(f"| {desc} | {measured} | {required} | {'yes' if met else 'NO'} | | | "
            f"{'yes' if enforced else 'no'} |")
    failures = check(runs, {})
    hot = [f for f in failures if "on the hot path" in f]
    add(f"| allocations per read (every BM_Acquire_Keyward*, BM_Acquire_InTurn, BM_Select*) | "
        f"{'0' if not hot else 'not 0'} | 0 | {'yes' if not hot else 'NO'} | | | yes |")
    for body in BODIES:
        d, k = timed(runs, f"BM_Send_Direct/{body}", 1), timed(runs, f"BM_Send_Keyward/{body}", 1)
        if d and k:
            ok = k["allocs"] <= d["allocs"] + 1e-6
            add(f"| allocations per send, {body} body: keyward / direct | "
                f"{k['allocs']:g} / {d['allocs']:g} | keyward <= direct | {'yes' if ok else 'NO'} "
                f"| | | yes |")
    single = timed(runs, "BM_Send_Keyward/empty", 1)
    for sel in SELECTIONS:
        for n in (1, 128):
            pool = timed(runs, f"BM_Send_Pool/{sel}/{n}", 1)
            if pool and single:
                ok = pool["allocs"] <= single["allocs"] + 1e-6
                add(f"| allocations per send, pool of {n}, {sel}: pool / single credential | "
                    f"{pool['allocs']:g} / {single['allocs']:g} | pool <= single | "
                    f"{'yes' if ok else 'NO'} | | | yes |")
    storm = runs.get(STORM)
    if storm:
        add(f"| refreshes per storm of 64 threads | {storm['refresh_calls']:g} | 1 | "
            f"{'yes' if storm['refresh_calls'] == 1 else 'NO'} | | | yes |")
    for desc, measured, target, met, threads in timing_targets(runs):
        cells = f"{measured} | " if threads == 1 else f" | {measured}"
        add(f"| {desc} | | {target} | {'yes' if met else 'NO'} | {cells} | no (time) |")
    add("")

    if compile_times:
        add("## Compile time of a user's translation unit")
        add("")
        add("Each of `bench/compile_time/*.cpp` compiled alone with `g++ -std=c++20 -O2 -c`, "
            "including only the headers it uses, header-only and with "
            "`-DKEYWARD_SEPARATE_COMPILATION` (docs/building.md: keyward's non-template "
            "functions then compile once, in the program's one `keyward/impl/src.hpp` unit, "
            "whose own time is the `src` row); target: at most 6 s for the single credential "
            "on a quiet machine (reported, not enforced: the time moves with the load).")
        add("")
        add("| unit | what | mode | wall | user |")
        add("|---|---|---|---|---|")
        for name, mode, wall, user in compile_times:
            add(f"| `{name}` | {COMPILE_UNITS.get(name, '')} | {mode} | {wall:.1f} s "
                f"| {user:.1f} s |")
        add("")

    if instr:
        add("## Instructions per operation (callgrind)")
        add("")
        add("Counted by `valgrind --tool=callgrind` on `keyward_instr`, each case at its operation "
            "count and twice that; the difference divided by the count, so start-up and set-up "
            "cancel out. glibc's `rep movsb` copies are switched off "
            "(`GLIBC_TUNABLES=glibc.cpu.x86_rep_movsb_threshold=...`): callgrind counts every byte "
            "they move as one instruction, which would weigh the transport's copy of a 14 KB body "
            "ten times what it costs and hide keyward's share; the vector loop glibc uses "
            "instead is counted as it runs. The `async_send_*` cases are `keyward_async_bench`'s "
            "(bench/async_bench.cpp): one send at a time over a kept-alive connection to "
            "`keyward_bench_server`, a process of its own; real I/O moves their counts by a few "
            "percent between runs, so bench/run keeps the median of three.")
        add("")
        add("| case | what | instructions | ratio | added | body bytes | bytes per instruction |")
        add("|---|---|---|---|---|---|---|")
        base = {case: b for _, case, b, _, _, _ in INSTRUCTION_TARGETS.values()}
        for case, (per_op, size) in instr.items():
            ratio, added = "", ""
            if case in base and base[case] in instr:
                ratio = f"{per_op / instr[base[case]][0]:.2f}x `{base[case]}`"
                added = f"{per_op - instr[base[case]][0]:+.0f}"
            per_byte = f"{size / per_op:.3f}" if size else ""
            add(f"| `{case}` | {CASES.get(case, '')} | {per_op:.0f} | {ratio} | {added} | "
                f"{size or ''} | {per_byte} |")
        add("")
        if profiles:
            add("## Where the instructions go")
            add("")
            add("For each target missed, the functions that cost keyward's case the most "
                "instructions per operation beyond its baseline's (self cost; the difference of "
                "each case's two callgrind profiles); for the stream classification, its own. "
                "`callgrind_annotate build/release/bench/callgrind/<case>.<n>.out` shows the "
                "rest.")
            add("")
            shown = [(INSTRUCTION_TARGETS[key][1], INSTRUCTION_TARGETS[key][2])
                     for key, _, _, _, _, met, _ in instruction_results(instr) if not met]
            for case, base in shown + [("classify_stream", None)]:
                rows = added_costs(profiles, steps, case, base)
                if not rows:
                    continue
                if base:
                    add(f"`{case}`: {instr[case][0]:.0f} instructions, "
                        f"{instr[case][0] - instr[base][0]:.0f} more than `{base}`:")
                else:
                    add(f"`{case}`: {instr[case][0]:.0f} instructions:")
                add("")
                add("| instructions | function |")
                add("|---|---|")
                for cost, name in rows:
                    add(f"| {cost:.0f} | `{name}` |")
                add("")

    for writer in (False, True):
        add("## The hot path" + (", with a writer publishing every millisecond" if writer else ""))
        add("")
        add("What a request does with the current credential: read the token and state, write "
            "`Bearer <token>` into a reused buffer. ns per read; × floor is the ratio to "
            "`BM_Acquire_Floor` at the same thread count.")
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
                row += [f"{ns(run):.2f}", f"{ns(run) / ns(floor):.2f}"]
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
                b, k = acquire(runs, design, t, writer), acquire(runs, "Keyward", t, writer)
                cells.append(f"{ns(b) / ns(k):.1f}x" if b and k else "-")
            add(f"| `BM_Acquire_{design}` | " + " | ".join(cells) + " |")
        add("")

    add("## Pools of N credentials")
    add("")
    add("In turn: each read is of credential i % N (`BM_Acquire_InTurn`, keyward; "
        "`BM_Acquire_InTurnFloor`, N floors), header appended. Scan: all but the last credential "
        "are cooling, so each choice reads all N before it attaches the last "
        "(`BM_Select_ScanToReady`). ns per read or per choice.")
    add("")
    add("| N | in turn, 1 thread | floor, 1 thread | × floor | in turn, 2 threads | "
        "floor, 2 threads | scan, 1 thread | scan, 2 threads | allocs |")
    add("|---|---|---|---|---|---|---|---|---|")
    for n in POOL_SIZES:
        cells = []
        allocs = 0.0
        for name in ("BM_Acquire_InTurn", "BM_Acquire_InTurnFloor"):
            for t in (1, 2):
                run = timed(runs, f"{name}/{n}", t)
                allocs = max(allocs, run.get("allocs", 0)) if run else allocs
        kw1, fl1 = timed(runs, f"BM_Acquire_InTurn/{n}", 1), timed(runs,
                                                                   f"BM_Acquire_InTurnFloor/{n}", 1)
        kw2, fl2 = timed(runs, f"BM_Acquire_InTurn/{n}", 2), timed(runs,
                                                                   f"BM_Acquire_InTurnFloor/{n}", 2)
        s1, s2 = timed(runs, f"BM_Select_ScanToReady/{n}", 1), timed(runs,
                                                                     f"BM_Select_ScanToReady/{n}", 2)
        for run in (kw1, fl1):
            cells.append(f"{ns(run):.2f}" if run else "-")
        cells.append(f"{ns(kw1) / ns(fl1):.2f}" if kw1 and fl1 else "-")
        for run in (kw2, fl2, s1, s2):
            cells.append(f"{ns(run):.2f}" if run else "-")
        for run in (s1, s2):
            allocs = max(allocs, run.get("allocs", 0)) if run else allocs
        cells.append(f"{allocs:g}")
        add(f"| {n} | " + " | ".join(cells) + " |")
    add("")

    add("## The whole send()")
    add("")
    add("Against a transport that answers 200 at once and builds its response per call "
        "(its own cost, the same on both sides): empty; an Anthropic message (JSON); an OpenAI "
        "embeddings response (JSON, pretty-printed); an Anthropic messages stream "
        "(`text/event-stream`). `BM_Send_Direct` is a careful client without keyward: its "
        "`Authorization` value is built once per token and copied into each request. "
        "`BM_Send_Keyward` passes its request by reference. Default policies "
        "(`classify::HttpStatus`).")
    add("")
    add("| body | threads | direct ns | keyward ns | keyward / direct | allocs direct | "
        "allocs keyward |")
    add("|---|---|---|---|---|---|---|")
    for body in BODIES:
        for t in (1, 2):
            d = timed(runs, f"BM_Send_Direct/{body}", t)
            k = timed(runs, f"BM_Send_Keyward/{body}", t)
            if d and k:
                add(f"| {body} | {t} | {ns(d):.1f} | {ns(k):.1f} | {ns(k) / ns(d):.2f}x | "
                    f"{d.get('allocs', 0):g} | {k.get('allocs', 0):g} |")
    add("")
    if storm:
        add("## The single-flight storm")
        add("")
        add("64 threads call send() on an expired token; the token endpoint takes 2 ms. 20 storms; "
            "the wake-up is how long after the refresh completed each thread had its response.")
        add("")
        add("| refreshes per storm | wake-up p50 | p99 | max |")
        add("|---|---|---|---|")
        add(f"| {storm['refresh_calls']:g} | {storm['wake_p50_us']:.0f} µs | "
            f"{storm['wake_p99_us']:.0f} µs | {storm['wake_max_us']:.0f} µs |")
        add("")
    store = [(n, runs.get(f"BM_FileStore_{n}/real_time/threads:1"))
             for n in ("PersistRotation", "Load")]
    if any(run for _, run in store):
        add("## The credentials file")
        add("")
        add("`store::File` on this machine's file system: a rotation's persist (write lock, "
            "re-read, new file, fsync, rename, folder fsync), the window in which a crash after "
            "the token endpoint rotated a refresh token loses it; and a re-read.")
        add("")
        add("| operation | µs |")
        add("|---|---|")
        for name, run in store:
            if run:
                add(f"| `BM_FileStore_{name}` | {ns(run) / 1000:.1f} |")
        add("")
    add("## Classifying and parsing")
    add("")
    add("`BM_Classify_200/<body>/<classifier>` classifies the healthy 200 responses of the send "
        "benchmarks.")
    add("")
    add("| benchmark | 1 thread ns | 2 threads ns | MB/s, 1 thread |")
    add("|---|---|---|---|")
    names = sorted({name.rsplit("/threads:", 1)[0] for name in runs
                    if name.startswith(("BM_Classify_", "BM_Parse_", "BM_Redact_", "BM_Scrub_",
                                        "BM_Url_"))})
    for base_name in names:
        stem = base_name.removesuffix("/real_time")
        one, two = runs.get(f"{base_name}/threads:1"), runs.get(f"{base_name}/threads:2")
        rate = (f"{one['bytes_per_second'] / 1e6:.0f}"
                if one and one.get("bytes_per_second") else "")
        add(f"| `{stem}` | {ns(one):.0f} | {ns(two):.0f} | {rate} |" if one and two else
            f"| `{stem}` | - | - | |")
    add("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results")
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--instr")
    parser.add_argument("--profiles", help="the callgrind profiles, CASE.N.out")
    parser.add_argument("--markdown")
    parser.add_argument("--compile", help="bench/run's compile_times.txt")
    parser.add_argument("--async-allocs", help="keyward_async_bench --allocs's output")
    args = parser.parse_args()
    context, runs = load(args.results)
    instr = load_instr(args.instr)
    async_allocs = load_async_allocs(args.async_allocs)
    steps = {}
    if args.instr:
        with open(args.instr) as f:
            for line in f:
                case, _, _, step, _ = line.split()
                steps[case] = int(step)

    if instr:
        print("instructions per operation (callgrind):")
        for key, desc, ratio, target, limit, met, enforced in instruction_results(instr):
            _, case, base, _, _, _ = INSTRUCTION_TARGETS[key]
            counts = (f"{instr[case][0]:.0f} / {instr[base][0]:.0f}"
                      if case in instr and base in instr else "not measured")
            flag = "ok  " if met else ("FAIL" if enforced else "miss")
            gate = ("" if enforced else f", enforced at its ceiling {CEILINGS[key]}x"
                    if key in CEILINGS else ", not enforced")
            print(f"  {flag} {desc}: {fmt_ratio(ratio)} ({counts}; target {target}x, gate "
                  f"{limit:.2f}x{gate})")
        for case in ("classify_stream", "memchr_stream"):
            if case in instr:
                per_op, size = instr[case]
                print(f"       {CASES[case]}: {size / per_op:.2f} bytes per instruction "
                      f"({per_op:.0f} instructions for {size} bytes)")
    for desc, measured, required, met, enforced in async_alloc_results(async_allocs):
        flag = "ok  " if met else ("FAIL" if enforced else "miss")
        print(f"  {flag} {desc}: {measured} (required {required}"
              f"{'' if enforced else ', not enforced'})")
    print("timing ratios (reported, not enforced: shared machines are noisy):")
    for key, (desc, _, _, target, num, den) in INSTRUCTION_TARGETS.items():
        if num is None:
            continue
        print(f"       {desc}: {fmt_ratio(time_ratio(runs, num, den, 1))} at 1 thread, "
              f"{fmt_ratio(time_ratio(runs, num, den, 2))} at 2 (target {target}x)")
    for desc, measured, target, met, _ in timing_targets(runs):
        print(f"  {'ok  ' if met else 'miss'} {desc}: {measured} (target {target})")
    storm = runs.get(STORM)
    if storm:
        print(f"       storm: {storm['refresh_calls']:g} refresh per storm, waiters woken "
              f"p50 {storm['wake_p50_us']:.0f} us, p99 {storm['wake_p99_us']:.0f} us, "
              f"max {storm['wake_max_us']:.0f} us")

    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(context, runs, instr, args.profiles, steps,
                             load_compile_times(args.compile), async_allocs) + "\n")
        print(f"wrote {args.markdown}")

    failures = check(runs, instr, async_allocs) if args.check else []
    for failure in failures:
        print(f"FAIL {failure}")
    if args.profiles and instr:
        for key, desc, ratio, target, limit, met, enforced in instruction_results(instr):
            _, case, base, _, _, _ = INSTRUCTION_TARGETS[key]
            if (enforced or key in CEILINGS) and not met and case in instr and base in instr:
                print(f"  what {case} adds to {base}'s {instr[base][0]:.0f} instructions "
                      f"(self, per operation):")
                for cost, name in added_costs(args.profiles, steps, case, base, top=6):
                    print(f"    {cost:7.0f}  {name}")
    print("deterministic checks: " + ("failed" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
