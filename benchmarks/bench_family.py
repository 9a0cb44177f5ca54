"""Speed of one training step across the model family: the native core against PyTorch, with Adam.

For rnn, lstm and gru at three shapes (1 x 100 batch 1 T 25, the assignment's; 2 x 128 batch 50
T 50, char-rnn's and torch-rnn's default; 2 x 512 batch 50 T 50), in float32 and float64, times
the native Trainer and, when torch imports, nn.RNN/LSTM/GRU + nn.Linear holding the same weights
(torch_family.py: one-hot input, cross-entropy summed over T and averaged over the batch,
clip_grad_value_ 5, Adam eta 2e-3, the state carried over), on the embedded corpus. A shape's
timers (native and torch, each dtype) run interleaved rep by rep; medians, min and max are
reported, with explicit FLOP counts (bench_step.step_flops), GFLOP/s and the percentage of the
peak that peak_flops.cpp measures on one core in the same run (times the threads, with
--threads). Not a test: nothing here asserts a speed.

    python benchmarks/bench_family.py                           # table for people (~5 minutes)
    python benchmarks/bench_family.py --json                    # one JSON object on stdout
    python benchmarks/bench_family.py --json run.json           # ... into a file, table shown
    python benchmarks/bench_family.py --quick --shapes 'lstm-*'  # fewer reps, some shapes
    python benchmarks/bench_family.py --threads 2               # both sides on 2 threads

--threads N runs both sides on N threads and times by the wall clock (process CPU time would add
the threads up). Give it an idle machine: with other work on the cores, torch's OpenMP threads
wait for each other at every time step (5 to a few hundred times slower than one thread, seen
here on 2 cores).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import statistics
import sys
import time

import bench_step as bench  # beside this file; first: it pins BLAS and OpenMP to one thread
import charrnn
import numpy as np
from charrnn import _core, machine
from torch_family import TorchTrainer

# (cell, layers, m, batch, T)
SHAPES = [
    (cell, *shape)
    for cell in _core.CELLS
    for shape in ((1, 100, 1, 25), (2, 128, 50, 50), (2, 512, 50, 50))
]
DTYPES = ("float32", "float64")
# Both sides train with these (the issue's comparison): Adam, eta 2e-3, elementwise clip at 5.
OPTIMIZER, ETA, CLIP = "adam", 2e-3, 5.0


def label(cell: str, layers: int, m: int, batch: int, T: int) -> str:
    return f"{cell}-{layers}x{m}-b{batch}-T{T}"


def load_average() -> list[float]:
    """The machine's 1, 5 and 15 minute load averages: how shared it was while measuring."""
    return [round(x, 2) for x in os.getloadavg()]


def check_same_computation(torch, encoded: np.ndarray, K: int) -> dict[str, float]:
    """The largest relative difference between the native and the torch losses over 5 Adam
    steps from the same weights, float64, per cell (2 layers, m=16, batch 3, T=10): both sides
    must be training the same model on the same windows of the text."""
    out = {}
    for cell in _core.CELLS:
        p = _core.Params.random(K, 16, sig=0.01, seed=3, cell=cell, layers=2)
        native = _core.Trainer(
            p.copy(), encoded, seq_length=10, batch=3, optimizer=OPTIMIZER, eta=ETA, clip=CLIP
        )
        losses = np.empty(5)
        native.run(losses)
        theirs = TorchTrainer(
            torch, p, encoded, T=10, eta=ETA, clip=CLIP, batch=3, optimizer=OPTIMIZER
        )
        out[cell] = float(max(abs(theirs.step() - ours) / ours for ours in losses))
    return out


def time_shape(shape, encoded, K, torch, dtypes, threads, reps, budget) -> list[dict]:
    """One entry per dtype: the shape's timers measured interleaved, each side on `threads`."""
    cell, layers, m, B, T = shape
    p = _core.Params.random(K, m, sig=0.01, seed=0, cell=cell, layers=layers)
    timers = {}
    for dtype in dtypes:
        timers["native", dtype] = bench.native_timer(
            p,
            encoded,
            T,
            B,
            f32=dtype == "float32",
            optimizer=OPTIMIZER,
            eta=ETA,
            clip=CLIP,
            threads=threads,
        )
        if torch is not None:
            timers["torch", dtype] = bench.python_timer(
                TorchTrainer(
                    torch,
                    p,
                    encoded,
                    T=T,
                    eta=ETA,
                    clip=CLIP,
                    batch=B,
                    optimizer=OPTIMIZER,
                    dtype=dtype,
                )
            )
    samples = bench.measure_samples(timers, budget=budget, reps=reps, min_steps=1)
    flops = bench.step_flops(p.layout, cell, T, B, optimizer=OPTIMIZER)
    entries = []
    for dtype in dtypes:
        e = {
            "shape": label(*shape),
            "cell": cell,
            "layers": layers,
            "m": m,
            "batch": B,
            "T": T,
            "dtype": dtype,
            "threads": threads,
            "native_threads": threads,
            "flop_per_step": flops,
        }
        for side in ("native", "torch"):
            s = samples.get((side, dtype))
            e[f"{side}_us_per_step"] = statistics.median(s) * 1e6 if s else None
            e[f"{side}_us_min"] = min(s) * 1e6 if s else None
            e[f"{side}_us_max"] = max(s) * 1e6 if s else None
            e[f"{side}_chars_per_s"] = B * T / statistics.median(s) if s else None
            e[f"{side}_gflops"] = flops["total"] / statistics.median(s) / 1e9 if s else None
        e["ratio_native_over_torch"] = (
            e["torch_us_per_step"] / e["native_us_per_step"] if torch else None
        )
        entries.append(e)
    return entries


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="write one JSON object (the build, the CPU, the measured peak and every row of "
        "the table) to PATH, or print it when no PATH is given",
    )
    ap.add_argument("--quick", action="store_true", help="3 short reps instead of 9")
    ap.add_argument(
        "--shapes",
        default="*",
        help="comma-separated names or patterns of the shapes to run, e.g. "
        "'lstm-*' or 'rnn-1x100-b1-T25,gru-2x128-b50-T50' (default: all: "
        + ", ".join(label(*s) for s in SHAPES)
        + ")",
    )
    ap.add_argument(
        "--dtypes",
        default=",".join(DTYPES),
        help="comma-separated, of float32 and float64 (default both)",
    )
    ap.add_argument("--threads", type=int, default=1, help="threads of each side (default 1)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it imports")
    ap.add_argument(
        "--wall",
        action="store_true",
        help="time with the wall clock (always so with --threads > 1: process CPU "
        "time would add up the threads)",
    )
    ap.add_argument("--text", default=None, help="UTF-8 text file (default: the embedded corpus)")
    args = ap.parse_args(argv)
    patterns = [s.strip() for s in args.shapes.split(",") if s.strip()]
    shapes = [s for s in SHAPES if any(fnmatch.fnmatch(label(*s), pat) for pat in patterns)]
    if not shapes:
        ap.error(f"--shapes {args.shapes!r} matches none of {', '.join(label(*s) for s in SHAPES)}")
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    if not dtypes or set(dtypes) - set(DTYPES):
        ap.error(f"--dtypes must list float32 and/or float64, got {args.dtypes!r}")
    if args.threads < 1:
        ap.error("--threads must be >= 1")
    wall = args.wall or args.threads > 1
    if wall:
        bench.CLOCK = time.perf_counter
    reps, budget = (3, 0.15) if args.quick else (9, 0.5)

    _, vocab, encoded = charrnn.load_corpus(args.text)
    torch = bench.import_torch(not args.no_torch)
    if torch is not None:
        torch.set_num_threads(args.threads)
    started, load_start = time.perf_counter(), load_average()
    res = {
        # What a run on another machine is compared by: the build, the CPU, and (below) the
        # peak measured in this run and every row of the table.
        "build": _core.ARCH,
        "cpu_model": machine.cpu_model(),
        "machine": {
            "cpu": machine.cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "charrnn_arch": _core.ARCH,
            "eigen_simd": _core.SIMD,
            "torch": torch.__version__ if torch else None,
        },
        "settings": {
            "optimizer": OPTIMIZER,
            "eta": ETA,
            "clip": CLIP,
            "clip_kind": "elementwise",
            "torch_input": "one-hot",
            "K": vocab.K,
            "text_chars": int(encoded.size),
            "reps": reps,
            "rep_seconds": budget,
            "clock": "wall" if wall else "process CPU time",
            "threads": args.threads,
            "native_threads": args.threads,
        },
    }
    peaks = [bench.measure_peak()]
    if torch is not None:
        res["torch_max_rel_loss_diff_vs_native"] = check_same_computation(torch, encoded, vocab.K)
    family = []
    for shape in shapes:
        t0 = time.perf_counter()
        family += time_shape(shape, encoded, vocab.K, torch, dtypes, args.threads, reps, budget)
        print(f"{label(*shape)}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    # The peak again at the end: the machine's speed drifts, and the better of the two is the
    # denominator (the peak is what the core can do, not what it did during one phase).
    peaks.append(bench.measure_peak())
    peaks = [p for p in peaks if p]
    peak = {d: max(p[d] for p in peaks) for d in ("f32", "f64")} if peaks else None
    for e in family:  # of the peak of as many cores as the step ran threads
        e["pct_of_measured_peak"] = (
            100 * e["native_gflops"] / (e["threads"] * peak[e["dtype"].replace("float", "f")])
            if peak
            else None
        )
    res["peak_gflops_measured"] = peak
    res["peak_runs"] = peaks
    res["load_average"] = {"start": load_start, "end": load_average()}
    res["seconds"] = time.perf_counter() - started
    res["family"] = family
    if args.json == "-":
        print(json.dumps(res, indent=1))
    else:
        print_report(res)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(res, f, indent=1)
                f.write("\n")
    return 0


def print_report(r: dict) -> None:
    mach, s = r["machine"], r["settings"]
    print(
        f"{mach['cpu']}, {mach['cores']} cores; Python {mach['python']}, numpy {mach['numpy']}; "
        f"charrnn arch {mach['charrnn_arch']}, Eigen SIMD {mach['eigen_simd']}; "
        f"torch {mach['torch'] or 'not importable (or --no-torch): native figures only'}"
    )
    peak = r["peak_gflops_measured"]
    runs = " and ".join(f"{p['f32']:.0f}/{p['f64']:.0f}" for p in r["peak_runs"])
    print(
        f"measured peak of one core: {peak['f32']:.1f} GFLOP/s float32, {peak['f64']:.1f} float64 "
        f"(best of the runs before and after: {runs})"
        if peak
        else "measured peak: not measured (no C++ compiler)"
    )
    threads = f"{'each side' if mach['torch'] else 'native'} on {s['threads']} thread(s)"
    print(
        f"{s['optimizer']} eta {s['eta']:g}, clip {s['clip']:g} {s['clip_kind']}; K={s['K']}; "
        f"{threads}; {s['clock']}; median of {s['reps']} interleaved reps (min-max)"
    )
    if "torch_max_rel_loss_diff_vs_native" in r:
        print(
            "same computation: torch's losses over 5 Adam steps from the native weights agree to "
            + ", ".join(f"{c} {d:.0e}" for c, d in r["torch_max_rel_loss_diff_vs_native"].items())
            + " relative (float64)"
        )
    la = r["load_average"]
    print(
        f"load average (1, 5, 15 min): {la['start'][0]:.2f} {la['start'][1]:.2f} "
        f"{la['start'][2]:.2f} at the start, {la['end'][0]:.2f} {la['end'][1]:.2f} "
        f"{la['end'][2]:.2f} at the end; {r['seconds']:.0f} s in all"
    )
    print()
    print(
        f"{'model':21}{'dtype':>8}{'MFLOP':>9}{'native us/step':>28}{'torch us/step':>28}"
        f"{'native/torch':>13}{'GFLOP/s':>9}{'% peak':>8}{'native chars/s':>15}{'torch chars/s':>14}"
    )

    for e in r["family"]:
        print(
            f"{e['shape']:21}{e['dtype']:>8}{e['flop_per_step']['total'] / 1e6:9.1f}"
            f"{timing(e, 'native')}{timing(e, 'torch')}"
            f"{column(e['ratio_native_over_torch'], '.2f', 12, 'x')}"
            f"{column(e['native_gflops'], '.1f', 9)}{column(e['pct_of_measured_peak'], '.1f', 7, '%')}"
            f"{column(e['native_chars_per_s'], ',.0f', 15)}{column(e['torch_chars_per_s'], ',.0f', 14)}"
        )


def column(value, spec: str, width: int, unit: str = "") -> str:
    """value formatted and right-aligned in width (+ the unit), or a dash when there is none."""
    if value is None:
        return "-".rjust(width + len(unit))
    return format(value, spec).rjust(width) + unit


def timing(e: dict, side: str) -> str:
    """median (min-max) in microseconds, or a dash."""
    if e[f"{side}_us_per_step"] is None:
        return column(None, "", 28)
    return (
        f"{e[f'{side}_us_per_step']:,.0f} ({e[f'{side}_us_min']:,.0f}-{e[f'{side}_us_max']:,.0f})"
    ).rjust(28)


if __name__ == "__main__":
    sys.exit(main())
