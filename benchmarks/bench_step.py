"""Speed of one training step: the native core against the fastest plain-numpy step and PyTorch.

Times, in one process and one run, the native Trainer (float64 and float32), a numpy step and
(when torch imports) the PyTorch nn.RNN / nn.LSTM / nn.GRU + Adagrad step, all on the same
model, settings and text, interleaved and repeated, and reports medians. The numpy step is a
careful min-char-rnn written for speed for the vanilla model (rnn, 1 layer), and the numpy
reference (charrnn.reference, written for clarity) for every other model. Also: a scaling table
over the hidden size m and sequence length T, mini-batch figures, the wall time of the
100,000-step assignment run and of the full m=100 gradient check. Not a test: nothing here
asserts a speed.

    python benchmarks/bench_step.py            # table for people
    python benchmarks/bench_step.py --json     # one JSON object
    python benchmarks/bench_step.py --quick    # the head-to-head only (a few seconds)
    python benchmarks/bench_step.py --cell lstm --layers 2   # another model of the family

Threads are pinned to one (OpenBLAS, OpenMP, MKL, torch) so the comparison is one core each.
"""

from __future__ import annotations

import os

# Before numpy or torch load their BLAS: one thread each, for a fair single-core comparison.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import charrnn  # noqa: E402
import numpy as np  # noqa: E402
from charrnn import _core  # noqa: E402
from torch_family import TorchTrainer  # noqa: E402  (beside this file)

HERE = Path(__file__).resolve().parent
# The clock for step timings: this process's CPU time by default, so that time the scheduler
# gives to other processes on a shared machine is not charged to whichever side was running
# (wall time varied 2x with two other jobs on two cores); --wall switches to wall time. Every
# side runs on one thread, so CPU time and wall time agree on an idle machine.
CLOCK = time.process_time
# The nominal single-core peak of this kind of machine (AVX-512, 2 FMA units, GFLOP/s);
# the script also measures the peak it can reach here (peak_flops.cpp) and reports both.
NOMINAL_PEAK = {"f64": 57.0, "f32": 114.0}


# ---------------------------------------------------------------------------------------------
# FLOP count of one training step (B sequences of T characters), from the model's layout table.
# A multiply-add counts 2; an add, multiply, division, max, exp, log, tanh, sigmoid or sqrt 1.
# ---------------------------------------------------------------------------------------------
# The elementwise work of a cell per hidden unit per character, (forward, backward), counted
# from the equations at the top of cpp/cells/<cell>.cpp. Not counted here, but from the layout:
# bias adds and sums, the column gather of U_1 and its scatter, every matrix product. Backward
# includes dh = dH + dh_next (and lstm's dc + dc_next).
CELL_FLOPS = {
    # tanh | da = (1 - h^2) .* dh: 3, dh: 1
    "rnn": (1, 4),
    # 3 sigmoids, 2 tanh, c = f c + i g: 3, h = o tanh(c): 1 | dh 1, do 1, dz_o 3, dc 5, di dg df
    # 1 each, dz_i dz_g dz_f 3 each, dc_next 1
    "lstm": (9, 23),
    # 2 sigmoids, r .* hn: 1, + U_n x: 1, tanh, h = (1 - z) n + z h: 4 | dh 1, dn 2, dz 2,
    # da_z 3, da_n 3, dr 1, da_r 3, dhn 1, dh_next 2
    "gru": (9, 18),
}


# The update's work per parameter: the elementwise clip (min and max), then the optimizer.
UPDATE_FLOPS = {
    "adagrad": 2 + 7,  # mem += g^2 (2), + eps, sqrt, eta g, divide, subtract
    "adam": 2 + 13,  # m = b1 m + a1 g (3), v = b2 v + a2 g^2 (4), sqrt, * c2, + eps, step m,
    # divide, subtract (cpp/optim/optim.cpp, clip_adam_exact)
}


def step_flops(
    layout: list[dict], cell: str, T: int, B: int = 1, optimizer: str = "adagrad"
) -> dict[str, int]:
    """layout: _core.layout(K, m, cell=cell, layers=layers) (or params.layout)."""
    forward, backward = 0, 1  # d_o = p - onehot(y)
    layers = 0
    for e in layout:
        size, rows = e["size"], e["shape"][0]
        if e["role"] == "U" and e["layer"] == 1:
            forward += rows  # U x_t: a column gather, rows adds
            backward += rows  # dU.col(x_t) += dz
        elif e["role"] in ("W", "U", "V"):
            forward += 2 * size  # W h, U h_below, V h
            backward += 4 * size  # dW += dz h^T and W^T dz (dV += d_o h^T and V^T d_o)
        else:
            forward += size  # + b, + bn, + c
            backward += size  # db += dz ...
        layers += e["role"] == "W"
        if e["role"] == "V":
            K, m = e["shape"]
    # The cells; softmax (max, subtract, exp, sum, divide) and -log p[y].
    forward += layers * m * CELL_FLOPS[cell][0] + 5 * K + 1
    backward += layers * m * CELL_FLOPS[cell][1]
    n_params = sum(e["size"] for e in layout)
    update = UPDATE_FLOPS[optimizer] * n_params
    fwd, bwd = T * B * forward, T * B * backward
    return {"forward": fwd, "backward": bwd, "update": update, "total": fwd + bwd + update}


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------
def load_text(path: str | None) -> tuple[np.ndarray, int]:
    """The text as sorted-vocabulary indices (int64), and K."""
    if path is None:
        candidates = [
            Path(charrnn.__file__).parent / "data" / "shakespeare.txt",
            HERE.parent / "data" / "shakespeare.txt",
        ]
        path = str(next((p for p in candidates if p.exists()), candidates[-1]))
    text = Path(path).read_text(encoding="utf-8")
    vocab = sorted(set(text))
    lut = {ch: i for i, ch in enumerate(vocab)}
    return np.fromiter((lut[ch] for ch in text), dtype=np.int64, count=len(text)), len(vocab)


# ---------------------------------------------------------------------------------------------
# The numpy step of the vanilla model: min-char-rnn's maths written for speed, not for show.
# Everything that does not depend on the previous time step is one matrix product over the whole
# sequence (the output layer, softmax, dV, V^T dO, dW, dU); only W h and W^T da run per step; all
# parameters live in one flat array, laid out by the native layout table, so clipping and
# AdaGrad are four in-place vector operations.
# ---------------------------------------------------------------------------------------------
class NumpyTrainer:
    def __init__(self, params, text, T=25, eta=0.1, eps=1e-8, clip=5.0):
        if params.cell != "rnn" or params.layers != 1:
            raise ValueError("NumpyTrainer is the vanilla model's step (rnn, 1 layer)")
        self.flat = np.array(params.flat, dtype=np.float64)  # a copy, in layout order
        self.grad = np.zeros_like(self.flat)
        self.mem = np.zeros_like(self.flat)
        self.tmp = np.zeros_like(self.flat)

        def views(buf):
            return [
                buf[e["offset"] : e["offset"] + e["size"]].reshape(e["shape"])
                for name in "WUVbc"
                for e in params.layout
                if e["name"] == name
            ]

        self.W, self.U, self.V, self.b, self.c = views(self.flat)
        self.dW, self.dU, self.dV, self.db, self.dc = views(self.grad)
        m, K = self.U.shape
        self.m, self.K, self.T, self.eta, self.eps, self.clip = m, K, T, eta, eps, clip
        self.text = text
        self.h = np.zeros(m)
        self.e = 0
        self.H = np.empty((T + 1, m))  # h_0 .. h_T, one row each
        self.dA = np.empty((T, m))
        self.onehot = np.zeros((K, T))
        self.rows = np.arange(T)
        self.smooth_loss = None

    def step(self) -> float:
        T, text = self.T, self.text
        if self.e + T + 1 > len(text):
            self.e, self.h = 0, np.zeros(self.m)
        x, y = text[self.e : self.e + T], text[self.e + 1 : self.e + T + 1]
        W, V, H = self.W, self.V, self.H
        H[0] = self.h
        UXb = self.U.T[x] + self.b  # (T, m): U x_t + b for every step, one gather
        for t in range(T):
            H[t + 1] = np.tanh(W @ H[t] + UXb[t])
        O = H[1:] @ V.T + self.c  # (T, K) all logits at once
        O -= O.max(axis=1, keepdims=True)
        P = np.exp(O, out=O)
        P /= P.sum(axis=1, keepdims=True)
        loss = -np.log(P[self.rows, y]).sum()
        dO = P
        dO[self.rows, y] -= 1.0
        np.dot(dO.T, H[1:], out=self.dV)
        dO.sum(axis=0, out=self.dc)
        dHout = dO @ V  # (T, m) V^T d_o for every step
        dA, dh_next = self.dA, np.zeros(self.m)
        for t in range(T - 1, -1, -1):
            np.multiply(1.0 - H[t + 1] * H[t + 1], dHout[t] + dh_next, out=dA[t])
            dh_next = dA[t] @ W  # W^T da
        np.dot(dA.T, H[:-1], out=self.dW)
        dA.sum(axis=0, out=self.db)
        oh = self.onehot
        oh[:] = 0.0
        oh[x, self.rows] = 1.0
        np.dot(dA.T, oh.T, out=self.dU)  # dU[:, x_t] += da_t, as one product
        g, mem, tmp = self.grad, self.mem, self.tmp
        np.clip(g, -self.clip, self.clip, out=g)
        np.multiply(g, g, out=tmp)
        mem += tmp
        np.add(mem, self.eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.divide(g, tmp, out=tmp)
        tmp *= self.eta
        self.flat -= tmp
        self.h = H[T].copy()
        self.e += T
        self.smooth_loss = (
            loss if self.smooth_loss is None else 0.999 * self.smooth_loss + 0.001 * loss
        )
        return float(loss)


# ---------------------------------------------------------------------------------------------
# The numpy step of any model: charrnn.reference (the oracle the tests trust, written for
# clarity, not speed), as its train() runs it: forward_backward, clip, AdaGrad, state carried.
# ---------------------------------------------------------------------------------------------
class ReferenceTrainer:
    def __init__(self, params, text, T=25, eta=0.1, eps=1e-8, clip=5.0):
        from charrnn import reference

        self.ref = reference
        self.params = reference.Params.from_native(params)
        self.memory = reference.Params.zeros(self.params.layout)
        self.text, self.T, self.eta, self.eps, self.clip = text, T, eta, eps, clip
        self.h = self.c = None  # zeros
        self.e = 0

    def step(self) -> float:
        ref, T, text = self.ref, self.T, self.text
        if self.e + T + 1 > len(text):
            self.e, self.h, self.c = 0, None, None
        r = ref.forward_backward(
            self.params,
            text[self.e : self.e + T],
            text[self.e + 1 : self.e + T + 1],
            self.h,
            self.c,
        )
        ref.clip_gradients(r.grads, self.clip)
        ref.adagrad_step(self.params, r.grads, self.memory, self.eta, self.eps)
        self.h, self.c = r.h_last, r.c_last
        self.e += T
        return float(r.loss)


def numpy_trainer(params, text, T=25):
    """The fastest numpy step there is for this model."""
    if params.cell == "rnn" and params.layers == 1:
        return NumpyTrainer(params, text, T)
    return ReferenceTrainer(params, text, T)


# ---------------------------------------------------------------------------------------------
# Timing helpers
# ---------------------------------------------------------------------------------------------
def make_params(K: int, m: int, seed: int = 0, cell: str = "rnn", layers: int = 1):
    return _core.Params.random(K, m, sig=0.01, seed=seed, cell=cell, layers=layers)


def to32(p):
    q = _core.Params32(p.K, p.m, cell=p.cell, layers=p.layers)
    q.flat = p.flat
    return q


def native_timer(p, text, T=25, B=1, f32=False, **settings):
    """A callable running n native steps and returning the seconds they took. settings: more
    Trainer arguments (optimizer, eta, ...)."""
    tr = (_core.Trainer32 if f32 else _core.Trainer)(
        to32(p) if f32 else p.copy(), text, seq_length=T, batch=B, **settings
    )

    def run(n):
        losses = np.empty(n)
        t0 = CLOCK()
        ran = tr.run(losses)
        dt = CLOCK() - t0
        if ran != n:
            raise RuntimeError("native training diverged")
        return dt

    return run


def python_timer(trainer):
    def run(n):
        t0 = CLOCK()
        for _ in range(n):
            trainer.step()
        return CLOCK() - t0

    return run


def measure_samples(
    timers: dict, budget: float = 0.25, reps: int = 7, min_steps: int = 3
) -> dict[str, list[float]]:
    """Seconds per step of each timer in each rep, interleaved rep by rep so load from other
    processes falls on all of them alike. Each rep runs about `budget` seconds per timer, and
    at least min_steps steps (steps of a second or more want 1)."""
    n = {}
    for name, run in timers.items():
        run(1)  # warm up (allocations, caches, torch's first-call costs)
        probe = run(1)
        if probe < budget / 5:  # a cheap step: time a few for the rep length
            probe = run(5) / 5
        n[name] = max(min_steps, int(budget / max(probe, 1e-9)))
    samples = {name: [] for name in timers}
    for _ in range(reps):
        for name, run in timers.items():
            samples[name].append(run(n[name]) / n[name])
    return samples


def measure(timers: dict, budget: float = 0.25, reps: int = 7) -> dict[str, float]:
    """Median seconds per step of each timer (see measure_samples)."""
    return {name: statistics.median(s) for name, s in measure_samples(timers, budget, reps).items()}


def measure_peak() -> dict | None:
    """One core's peak GFLOP/s here, from peak_flops.cpp (needs a C++ compiler), or None.
    Built twice, for the widest vectors (-march=native) and for AVX2 (-march=x86-64-v3): on some
    CPUs 256-bit FMAs reach more FLOP/s than 512-bit ones (fewer 512-bit FMA units, lower clock
    under AVX-512), and the peak is the better of the two."""
    cxx = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    if not cxx:
        return None
    best = {"f64": 0.0, "f32": 0.0, "isa_f64": None, "isa_f32": None}
    with tempfile.TemporaryDirectory() as tmp:
        for march in ("native", "x86-64-v3"):
            exe = Path(tmp) / f"peak-{march}"
            try:
                subprocess.run(
                    [
                        cxx,
                        "-O2",
                        f"-march={march}",
                        "-std=c++17",
                        str(HERE / "peak_flops.cpp"),
                        "-o",
                        str(exe),
                    ],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
                for _ in range(3):
                    r = json.loads(
                        subprocess.run(
                            [str(exe)], check=True, capture_output=True, text=True, timeout=120
                        ).stdout
                    )
                    for prec in ("f64", "f32"):
                        if r[f"peak_gflops_{prec}"] > best[prec]:
                            best[prec], best[f"isa_{prec}"] = r[f"peak_gflops_{prec}"], r["isa"]
            except (subprocess.SubprocessError, OSError, ValueError, KeyError):
                continue
    return best if best["f64"] > 0 else None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(
            f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
            f"threads={i.get('num_threads')}"
            for i in threadpool_info()
        )
    except ImportError:
        cfg = getattr(np, "show_config", None)
        try:
            info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # numpy >= 1.26
            return f"{info.get('name')} {info.get('version')}"
        except Exception:
            return "unknown" if cfg else "unknown"


# ---------------------------------------------------------------------------------------------
# The sections of the report
# ---------------------------------------------------------------------------------------------
def import_torch(with_torch: bool):
    if not with_torch:
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def head_to_head(text, K, m, T, reps, torch, cell, layers):
    p = make_params(K, m, cell=cell, layers=layers)
    timers = {
        "native": native_timer(p, text, T),
        "native_f32": native_timer(p, text, T, f32=True),
        "numpy": python_timer(numpy_trainer(p, text, T)),
    }
    if torch is not None:
        timers["torch"] = python_timer(TorchTrainer(torch, p, text, T))
    sec = measure(timers, reps=reps)
    out = {"torch_version": torch.__version__ if torch else None}
    for name, s in sec.items():
        out[f"{name}_steps_per_s"] = 1.0 / s
        out[f"{name}_us_per_step"] = s * 1e6
    return out


def check_matches_native(text, K, torch, cell, layers):
    """The numpy and torch steps must be the same computation as the native one: the numpy
    step's losses over 20 steps, torch's first loss (its Adagrad differs after that), relative."""
    p = make_params(K, 30, seed=3, cell=cell, layers=layers)
    tr = _core.Trainer(p.copy(), text, seq_length=25)
    losses = np.empty(20)
    tr.run(losses)
    ref = numpy_trainer(p, text, T=25)
    out = {
        "numpy": float(np.max(np.abs(losses - [ref.step() for _ in range(20)]) / np.abs(losses)))
    }
    if torch is not None:
        out["torch"] = abs(TorchTrainer(torch, p, text, T=25).step() - losses[0]) / abs(losses[0])
    return out


def scaling_table(text, K, quick_budget, cell, layers):
    rows = []
    for T in (25, 100):
        for m in (32, 64, 100, 256, 512):
            p = make_params(K, m, cell=cell, layers=layers)
            timers = {"f64": native_timer(p, text, T), "f32": native_timer(p, text, T, f32=True)}
            sec = measure(timers, budget=quick_budget, reps=3)
            fl = step_flops(p.layout, cell, T)["total"]
            rows.append(
                {
                    "m": m,
                    "T": T,
                    "mflop_per_step": fl / 1e6,
                    "f64_us_per_step": sec["f64"] * 1e6,
                    "f64_gflops": fl / sec["f64"] / 1e9,
                    "f32_us_per_step": sec["f32"] * 1e6,
                    "f32_gflops": fl / sec["f32"] / 1e9,
                }
            )
    return rows


def batch_table(text, K, m, T, cell, layers):
    rows = []
    for B in (1, 8, 32, 64):
        p = make_params(K, m, cell=cell, layers=layers)
        timers = {"f64": native_timer(p, text, T, B), "f32": native_timer(p, text, T, B, f32=True)}
        sec = measure(timers, budget=0.3, reps=5)
        fl = step_flops(p.layout, cell, T, B)["total"]
        rows.append(
            {
                "B": B,
                "mflop_per_step": fl / 1e6,
                "f64_us_per_step": sec["f64"] * 1e6,
                "f64_gflops": fl / sec["f64"] / 1e9,
                "f64_chars_per_s": B * T / sec["f64"],
                "f32_us_per_step": sec["f32"] * 1e6,
                "f32_gflops": fl / sec["f32"] / 1e9,
                "f32_chars_per_s": B * T / sec["f32"],
            }
        )
    return rows


def full_run(text, K, cell, layers, steps=100_000):
    """Wall time of the assignment's run: m=100, T=25, eta=0.1, 100,000 AdaGrad steps (of the
    chosen cell and layers)."""
    out = {}
    for name, f32 in (("f64", False), ("f32", True)):
        p = make_params(K, 100, cell=cell, layers=layers)
        tr = (_core.Trainer32 if f32 else _core.Trainer)(to32(p) if f32 else p, text)
        losses = np.empty(steps)
        t0 = time.perf_counter()
        tr.run(losses)
        out[f"run_100k_{name}_seconds"] = time.perf_counter() - t0
        out[f"run_100k_{name}_final_smooth_loss"] = tr.smooth_loss
    return out


def gradcheck_timing(text, K, cell, layers):
    """The full m=100 gradient check, every entry of every parameter array: central differences
    of the native loss (2 forward passes per entry), and charrnn.gradcheck.check_native when it
    is there (which also runs the numpy reference and complex-step derivatives)."""
    out = {}
    p = make_params(K, 100, cell=cell, layers=layers)
    x, y = text[:25], text[1:26]  # from the zero state
    t0 = time.perf_counter()
    g = _core.forward_backward(p, x, y).grads
    flat, num, step = p.flat, np.empty(p.flat.size), 1e-5
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + step
        lp = _core.loss(p, x, y)
        flat[i] = old - step
        lm = _core.loss(p, x, y)
        flat[i] = old
        num[i] = (lp - lm) / (2 * step)
    out["gradcheck_native_fd_seconds"] = time.perf_counter() - t0
    out["gradcheck_native_fd_entries"] = int(flat.size)
    out["gradcheck_native_fd_rel_err"] = float(
        np.linalg.norm(num - g.flat) / (np.linalg.norm(num) + np.linalg.norm(g.flat))
    )
    try:
        from charrnn import gradcheck

        check = gradcheck.check_native
    except (ImportError, AttributeError):
        return out
    t0 = time.perf_counter()
    report = check(cell=cell, layers=layers)
    out["gradcheck_check_native_seconds"] = time.perf_counter() - t0
    out["gradcheck_check_native_passed"] = bool(report.get("passed"))
    return out


# ---------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="only the head-to-head (no scaling, batch, 100k run or gradient check)",
    )
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it imports")
    ap.add_argument("--text", default=None, help="UTF-8 text file (default: the embedded corpus)")
    ap.add_argument("-m", type=int, default=100, help="hidden size (default 100)")
    ap.add_argument("-T", type=int, default=25, help="sequence length (default 25)")
    ap.add_argument("--cell", choices=_core.CELLS, default="rnn", help="the cell (default rnn)")
    ap.add_argument("--layers", type=int, default=1, help="stacked layers (default 1)")
    ap.add_argument("--reps", type=int, default=9, help="repetitions; medians are reported")
    ap.add_argument("--wall", action="store_true", help="time with the wall clock, not CPU time")
    args = ap.parse_args(argv)
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter

    text, K = load_text(args.text)
    m, T, cell, layers = args.m, args.T, args.cell, args.layers
    if layers < 1:
        ap.error("--layers must be >= 1")
    layout = _core.layout(K, m, cell=cell, layers=layers)
    torch = import_torch(not args.no_torch)
    res = {
        "machine": {
            "cpu": cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "blas": blas_info(),
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
            "charrnn_arch": getattr(_core, "ARCH", None),
            "eigen_simd": _core.SIMD,
        },
        "settings": {
            "cell": cell,
            "layers": layers,
            "m": m,
            "T": T,
            "K": K,
            "batch": 1,
            "parameters": sum(e["size"] for e in layout),
            "text_chars": int(text.size),
            "clock": "wall" if args.wall else "process CPU time",
        },
    }
    fl = step_flops(layout, cell, T)
    res["flop_per_step"] = fl
    res["numpy_step"] = "fast" if cell == "rnn" and layers == 1 else "reference"
    diffs = check_matches_native(text, K, torch, cell, layers)
    res["numpy_max_rel_loss_diff_vs_native"] = diffs["numpy"]
    if "torch" in diffs:
        res["torch_first_rel_loss_diff_vs_native"] = diffs["torch"]
    peak = measure_peak()
    res["peak_gflops_measured"] = peak
    res["peak_gflops_nominal"] = NOMINAL_PEAK

    hh = head_to_head(text, K, m, T, args.reps, torch, cell, layers)
    res.update(hh)
    res["ratio_native_over_numpy"] = hh["native_steps_per_s"] / hh["numpy_steps_per_s"]
    res["ratio_native_f32_over_numpy"] = hh["native_f32_steps_per_s"] / hh["numpy_steps_per_s"]
    if "torch_steps_per_s" in hh:
        res["ratio_native_over_torch"] = hh["native_steps_per_s"] / hh["torch_steps_per_s"]
    for name, prec in (
        ("native", "f64"),
        ("native_f32", "f32"),
        ("numpy", "f64"),
        ("torch", "f64"),
    ):
        if f"{name}_steps_per_s" in hh:
            g = fl["total"] * hh[f"{name}_steps_per_s"] / 1e9
            res[f"{name}_gflops"] = g
            res[f"{name}_pct_of_nominal_peak"] = 100 * g / NOMINAL_PEAK[prec]
            if peak:
                res[f"{name}_pct_of_measured_peak"] = 100 * g / peak[prec]

    if not args.quick:
        res["batch"] = batch_table(text, K, m, T, cell, layers)
        for row in res["batch"]:
            if row["B"] == 32:
                for prec in ("f64", "f32"):
                    res[f"batch32_{prec}_gflops"] = row[f"{prec}_gflops"]
                    res[f"batch32_{prec}_pct_of_nominal_peak"] = (
                        100 * row[f"{prec}_gflops"] / NOMINAL_PEAK[prec]
                    )
                    if peak:
                        res[f"batch32_{prec}_pct_of_measured_peak"] = (
                            100 * row[f"{prec}_gflops"] / peak[prec]
                        )
        res["scaling"] = scaling_table(text, K, 0.15, cell, layers)
        res.update(full_run(text, K, cell, layers))
        res.update(gradcheck_timing(text, K, cell, layers))

    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print_report(res)
    return 0


def print_report(r: dict) -> None:
    mach, s = r["machine"], r["settings"]
    print(
        f"{mach['cpu']}, {mach['cores']} cores; Python {mach['python']}, numpy {mach['numpy']} "
        f"({mach['blas']}); Eigen SIMD: {mach['eigen_simd']}; arch: {mach['charrnn_arch']}"
    )
    pk = r["peak_gflops_measured"]
    print(
        f"peak GFLOP/s per core: measured {pk['f64']:.1f} f64 ({pk['isa_f64']}) / {pk['f32']:.1f} f32 ({pk['isa_f32']}); "
        if pk
        else "peak GFLOP/s per core: not measured (no C++ compiler); ",
        end="",
    )
    print(f"nominal {NOMINAL_PEAK['f64']:.0f} / {NOMINAL_PEAK['f32']:.0f}")
    same = f"numpy step == native step: losses agree to {r['numpy_max_rel_loss_diff_vs_native']:.0e} relative"
    if "torch_first_rel_loss_diff_vs_native" in r:
        same += f", torch's first to {r['torch_first_rel_loss_diff_vs_native']:.0e}"
    print(
        f"{s['cell']}, {s['layers']} layer(s), m={s['m']} T={s['T']} K={s['K']} batch 1: "
        f"{s['parameters']:,} parameters, {r['flop_per_step']['total'] / 1e6:.3f} MFLOP/step ({same})"
    )
    if r["numpy_step"] == "reference":
        print(
            "numpy: charrnn.reference's step (written for clarity; the fast numpy step is the "
            "vanilla model's only)"
        )
    print()
    print(
        f"{'':12}{'steps/s':>10}{'us/step':>10}{'GFLOP/s':>9}{'% nominal':>10}{'% measured':>11}{'native/this':>12}"
    )
    for name, label in (
        ("native", "native f64"),
        ("native_f32", "native f32"),
        ("numpy", "numpy" if r["numpy_step"] == "fast" else "numpy ref"),
        ("torch", "torch"),
    ):
        if f"{name}_steps_per_s" not in r:
            continue
        ratio = r["native_steps_per_s"] / r[f"{name}_steps_per_s"]
        meas = r.get(f"{name}_pct_of_measured_peak")
        print(
            f"{label:12}{r[f'{name}_steps_per_s']:10.0f}{r[f'{name}_us_per_step']:10.1f}"
            f"{r[f'{name}_gflops']:9.2f}{r[f'{name}_pct_of_nominal_peak']:9.1f}%"
            f"{(f'{meas:10.1f}%' if meas else '         -')}{ratio:11.2f}x"
        )
    if "torch_steps_per_s" not in r:
        print("(torch not importable: skipped)")
    print(f"native f32 / numpy: {r['ratio_native_f32_over_numpy']:.2f}x")
    if "batch" in r:
        print(
            f"\nmini-batch (m={s['m']}, T={s['T']}): B streams per step, loss = mean over the batch"
        )
        print(
            f"{'B':>4}{'f64 us/step':>13}{'GFLOP/s':>9}{'chars/s':>11}{'f32 us/step':>13}{'GFLOP/s':>9}{'chars/s':>11}"
        )
        for row in r["batch"]:
            print(
                f"{row['B']:4}{row['f64_us_per_step']:13.1f}{row['f64_gflops']:9.2f}{row['f64_chars_per_s']:11.0f}"
                f"{row['f32_us_per_step']:13.1f}{row['f32_gflops']:9.2f}{row['f32_chars_per_s']:11.0f}"
            )
        print("\nscaling (batch 1): native us/step and GFLOP/s")
        print(
            f"{'m':>5}{'T':>5}{'MFLOP':>9}{'f64 us':>10}{'GFLOP/s':>9}{'f32 us':>10}{'GFLOP/s':>9}"
        )
        for row in r["scaling"]:
            print(
                f"{row['m']:5}{row['T']:5}{row['mflop_per_step']:9.2f}{row['f64_us_per_step']:10.1f}"
                f"{row['f64_gflops']:9.2f}{row['f32_us_per_step']:10.1f}{row['f32_gflops']:9.2f}"
            )
        print(
            f"\n100,000-step assignment run ({s['cell']}, {s['layers']} layer(s), m=100, T=25): {r['run_100k_f64_seconds']:.1f} s f64 "
            f"(smooth loss {r['run_100k_f64_final_smooth_loss']:.3f}), {r['run_100k_f32_seconds']:.1f} s f32 "
            f"(smooth loss {r['run_100k_f32_final_smooth_loss']:.3f})"
        )
        print(
            f"full m=100 gradient check, central differences over all {r['gradcheck_native_fd_entries']} "
            f"entries: {r['gradcheck_native_fd_seconds']:.1f} s (relative error "
            f"{r['gradcheck_native_fd_rel_err']:.1e})"
        )
        if "gradcheck_check_native_seconds" in r:
            print(
                f"charrnn.gradcheck.check_native() (FD + reference + complex step): "
                f"{r['gradcheck_check_native_seconds']:.1f} s, passed={r['gradcheck_check_native_passed']}"
            )


if __name__ == "__main__":
    sys.exit(main())
