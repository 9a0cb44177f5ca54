"""Speed of one training step: the native core against the fastest plain-numpy step and PyTorch.

Times, in one process and one run, the native Trainer (float64 and float32), a careful numpy
min-char-rnn step and (when torch imports) a PyTorch nn.RNN + Adagrad step, all on the same
settings and text, interleaved and repeated, and reports medians. Also: a scaling table over the
hidden size m and sequence length T, mini-batch figures, the wall time of the 100,000-step
assignment run and of the full m=100 gradient check. Not a test: nothing here asserts a speed.

    python benchmarks/bench_step.py            # table for people
    python benchmarks/bench_step.py --json     # one JSON object
    python benchmarks/bench_step.py --quick    # the head-to-head only (a few seconds)

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

import numpy as np  # noqa: E402

import charrnn  # noqa: E402
from charrnn import _core  # noqa: E402

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
# FLOP count of one training step (B sequences of T characters, hidden size m, vocabulary K).
# A multiply-add counts 2; an add, multiply, division, max, exp, log, tanh or sqrt counts 1.
# ---------------------------------------------------------------------------------------------
def step_flops(m: int, K: int, T: int, B: int = 1) -> dict[str, int]:
    per_char_forward = (
        2 * m * m + 2 * m  # a_t = W h_{t-1} + U x_t + b   (U x_t is a column gather: m adds)
        + m  # h_t = tanh(a_t)
        + 2 * K * m + K  # o_t = V h_t + c
        + 5 * K + 1  # softmax, max-shifted (max, subtract, exp, sum, divide) and -log p[y]
    )
    per_char_backward = (
        1  # d_o = p - onehot(y)
        + 2 * K * m + K  # dV += d_o h^T;  dc += d_o
        + 2 * K * m + m  # dh = V^T d_o + dh_next
        + 3 * m  # da = (1 - h^2) .* dh
        + m + 2 * m * m + m  # db += da;  dW += da h_{t-1}^T;  dU.col(x) += da
        + 2 * m * m  # dh_next = W^T da
    )
    n_params = m * m + 2 * K * m + m + K
    update = 9 * n_params  # clip (2), mem += g^2 (2), + eps, sqrt, eta g, divide, subtract
    fwd, bwd = T * B * per_char_forward, T * B * per_char_backward
    return {"forward": fwd, "backward": bwd, "update": update, "total": fwd + bwd + update}


# ---------------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------------
def load_text(path: str | None) -> tuple[np.ndarray, int]:
    """The text as sorted-vocabulary indices (int64), and K."""
    if path is None:
        candidates = [Path(charrnn.__file__).parent / "data" / "shakespeare.txt",
                      HERE.parent / "data" / "shakespeare.txt"]
        path = str(next((p for p in candidates if p.exists()), candidates[-1]))
    text = Path(path).read_text(encoding="utf-8")
    vocab = sorted(set(text))
    lut = {ch: i for i, ch in enumerate(vocab)}
    return np.fromiter((lut[ch] for ch in text), dtype=np.int64, count=len(text)), len(vocab)


# ---------------------------------------------------------------------------------------------
# The numpy step: min-char-rnn's maths written for speed, not for show. Everything that does not
# depend on the previous time step is one matrix product over the whole sequence (the output
# layer, softmax, dV, V^T dO, dW, dU); only W h and W^T da run per step; all parameters live in
# one flat array so clipping and AdaGrad are four in-place vector operations.
# ---------------------------------------------------------------------------------------------
class NumpyTrainer:
    def __init__(self, W, U, V, b, c, text, T=25, eta=0.1, eps=1e-8, clip=5.0):
        m, K = U.shape
        self.m, self.K, self.T, self.eta, self.eps, self.clip = m, K, T, eta, eps, clip
        sizes = [m * m, m * K, K * m, m, K]
        self.flat = np.concatenate([np.ravel(a) for a in (W, U, V, b, c)]).astype(np.float64)
        self.grad = np.zeros_like(self.flat)
        self.mem = np.zeros_like(self.flat)
        self.tmp = np.zeros_like(self.flat)
        bounds = np.cumsum([0] + sizes)
        shapes = [(m, m), (m, K), (K, m), (m,), (K,)]

        def views(buf):
            return [buf[bounds[i]:bounds[i + 1]].reshape(shapes[i]) for i in range(5)]

        self.W, self.U, self.V, self.b, self.c = views(self.flat)
        self.dW, self.dU, self.dV, self.db, self.dc = views(self.grad)
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
        x, y = text[self.e:self.e + T], text[self.e + 1:self.e + T + 1]
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
        self.smooth_loss = loss if self.smooth_loss is None else 0.999 * self.smooth_loss + 0.001 * loss
        return float(loss)


# ---------------------------------------------------------------------------------------------
# The PyTorch step: nn.RNN (tanh) + nn.Linear, summed cross-entropy, clip_grad_value_, Adagrad,
# float64, one thread, truncated BPTT with the hidden state carried over (detached).
# ---------------------------------------------------------------------------------------------
class TorchTrainer:
    def __init__(self, torch, W, U, V, b, c, text, T=25, eta=0.1, eps=1e-8, clip=5.0):
        self.torch = torch
        m, K = U.shape
        dt = torch.float64
        self.rnn = torch.nn.RNN(K, m, nonlinearity="tanh").to(dt)
        self.out = torch.nn.Linear(m, K).to(dt)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(torch.from_numpy(U))
            self.rnn.weight_hh_l0.copy_(torch.from_numpy(W))
            self.rnn.bias_ih_l0.copy_(torch.from_numpy(b))
            self.rnn.bias_hh_l0.zero_()
            self.out.weight.copy_(torch.from_numpy(V))
            self.out.bias.copy_(torch.from_numpy(c))
        self.params = list(self.rnn.parameters()) + list(self.out.parameters())
        self.opt = torch.optim.Adagrad(self.params, lr=eta, eps=eps)
        self.clip, self.T, self.K, self.m = clip, T, K, m
        self.text = torch.from_numpy(text)
        self.eye = torch.eye(K, dtype=dt)
        self.h = torch.zeros(1, 1, m, dtype=dt)
        self.e = 0

    def step(self) -> float:
        torch, T = self.torch, self.T
        if self.e + T + 1 > len(self.text):
            self.e, self.h = 0, torch.zeros(1, 1, self.m, dtype=torch.float64)
        x = self.eye[self.text[self.e:self.e + T]].unsqueeze(1)  # (T, 1, K) one-hot
        y = self.text[self.e + 1:self.e + T + 1]
        hs, h_last = self.rnn(x, self.h)
        loss = torch.nn.functional.cross_entropy(self.out(hs.squeeze(1)), y, reduction="sum")
        self.opt.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.params, self.clip)
        self.opt.step()
        self.h = h_last.detach()
        self.e += T
        return float(loss.detach())


# ---------------------------------------------------------------------------------------------
# Timing helpers
# ---------------------------------------------------------------------------------------------
def make_params(K: int, m: int, seed: int = 0):
    return _core.Params.random(K, m, 0.01, seed)


def to32(p):
    q = _core.Params32(p.K, p.m)
    q.flat = p.flat
    return q


def native_timer(p, text, T=25, B=1, f32=False):
    """A callable running n native steps and returning the seconds they took."""
    tr = (_core.Trainer32 if f32 else _core.Trainer)(to32(p) if f32 else p.copy(), text,
                                                    seq_length=T, batch=B)

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


def steps_for(seconds_per_step: float, budget: float) -> int:
    return max(3, int(budget / max(seconds_per_step, 1e-9)))


def measure(timers: dict, budget: float = 0.25, reps: int = 7) -> dict[str, float]:
    """Median seconds per step of each timer, interleaved rep by rep so load from other
    processes falls on all of them alike. Each rep runs about `budget` seconds per timer."""
    n = {}
    for name, run in timers.items():
        run(2)  # warm up (allocations, caches, torch's first-call costs)
        n[name] = steps_for(run(5) / 5, budget)
    samples = {name: [] for name in timers}
    for _ in range(reps):
        for name, run in timers.items():
            samples[name].append(run(n[name]) / n[name])
    return {name: statistics.median(s) for name, s in samples.items()}


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
                subprocess.run([cxx, "-O2", f"-march={march}", "-std=c++17",
                                str(HERE / "peak_flops.cpp"), "-o", str(exe)],
                               check=True, capture_output=True, timeout=120)
                for _ in range(3):
                    r = json.loads(subprocess.run([str(exe)], check=True, capture_output=True,
                                                  text=True, timeout=120).stdout)
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
        return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                         f"threads={i.get('num_threads')}" for i in threadpool_info())
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
def head_to_head(text, K, m, T, reps, with_torch):
    p = make_params(K, m)
    W, U, V, b, c = (np.array(getattr(p, n)) for n in "WUVbc")
    timers = {
        "native": native_timer(p, text, T),
        "native_f32": native_timer(p, text, T, f32=True),
        "numpy": python_timer(NumpyTrainer(W, U, V, b, c, text, T)),
    }
    torch = None
    if with_torch:
        try:
            import torch
            torch.set_num_threads(1)
            timers["torch"] = python_timer(TorchTrainer(torch, W, U, V, b, c, text, T))
        except ImportError:
            torch = None
    sec = measure(timers, reps=reps)
    out = {"torch_version": torch.__version__ if torch else None}
    for name, s in sec.items():
        out[f"{name}_steps_per_s"] = 1.0 / s
        out[f"{name}_us_per_step"] = s * 1e6
    return out


def check_numpy_matches_native(text, K):
    """The numpy step must be the same computation as the native one: 20 steps, same losses."""
    p = make_params(K, 30, seed=3)
    W, U, V, b, c = (np.array(getattr(p, n)) for n in "WUVbc")
    ref = NumpyTrainer(W, U, V, b, c, text, T=25)
    ref_losses = [ref.step() for _ in range(20)]
    tr = _core.Trainer(p, text, seq_length=25)
    losses = np.empty(20)
    tr.run(losses)
    return float(np.max(np.abs(losses - ref_losses) / np.abs(losses)))


def scaling_table(text, K, quick_budget):
    rows = []
    for T in (25, 100):
        for m in (32, 64, 100, 256, 512):
            p = make_params(K, m)
            timers = {"f64": native_timer(p, text, T), "f32": native_timer(p, text, T, f32=True)}
            sec = measure(timers, budget=quick_budget, reps=3)
            fl = step_flops(m, K, T)["total"]
            rows.append({"m": m, "T": T, "mflop_per_step": fl / 1e6,
                         "f64_us_per_step": sec["f64"] * 1e6, "f64_gflops": fl / sec["f64"] / 1e9,
                         "f32_us_per_step": sec["f32"] * 1e6, "f32_gflops": fl / sec["f32"] / 1e9})
    return rows


def batch_table(text, K, m, T):
    rows = []
    for B in (1, 8, 32, 64):
        p = make_params(K, m)
        timers = {"f64": native_timer(p, text, T, B), "f32": native_timer(p, text, T, B, f32=True)}
        sec = measure(timers, budget=0.3, reps=5)
        fl = step_flops(m, K, T, B)["total"]
        rows.append({"B": B, "mflop_per_step": fl / 1e6,
                     "f64_us_per_step": sec["f64"] * 1e6, "f64_gflops": fl / sec["f64"] / 1e9,
                     "f64_chars_per_s": B * T / sec["f64"],
                     "f32_us_per_step": sec["f32"] * 1e6, "f32_gflops": fl / sec["f32"] / 1e9,
                     "f32_chars_per_s": B * T / sec["f32"]})
    return rows


def full_run(text, K, steps=100_000):
    """Wall time of the assignment's run: m=100, T=25, eta=0.1, 100,000 AdaGrad steps."""
    out = {}
    for name, f32 in (("f64", False), ("f32", True)):
        p = make_params(K, 100)
        tr = (_core.Trainer32 if f32 else _core.Trainer)(to32(p) if f32 else p, text)
        losses = np.empty(steps)
        t0 = time.perf_counter()
        tr.run(losses)
        out[f"run_100k_{name}_seconds"] = time.perf_counter() - t0
        out[f"run_100k_{name}_final_smooth_loss"] = tr.smooth_loss
    return out


def gradcheck_timing(text, K):
    """The full m=100 gradient check, every entry of all five tensors: central differences of
    the native loss (2 forward passes per entry), and charrnn.gradcheck.check_native when it is
    there (which also runs the numpy reference and complex-step derivatives)."""
    out = {}
    p = make_params(K, 100)
    x, y, h0 = text[:25], text[1:26], np.zeros(100)
    t0 = time.perf_counter()
    g = _core.forward_backward(p, x, y, h0).grads
    flat, num, step = p.flat, np.empty(p.flat.size), 1e-5
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + step
        lp = _core.loss(p, x, y, h0)
        flat[i] = old - step
        lm = _core.loss(p, x, y, h0)
        flat[i] = old
        num[i] = (lp - lm) / (2 * step)
    out["gradcheck_native_fd_seconds"] = time.perf_counter() - t0
    out["gradcheck_native_fd_entries"] = int(flat.size)
    out["gradcheck_native_fd_rel_err"] = float(
        np.linalg.norm(num - g.flat) / (np.linalg.norm(num) + np.linalg.norm(g.flat)))
    try:
        from charrnn import gradcheck
        check = getattr(gradcheck, "check_native")
    except (ImportError, AttributeError):
        return out
    t0 = time.perf_counter()
    report = check()
    out["gradcheck_check_native_seconds"] = time.perf_counter() - t0
    out["gradcheck_check_native_passed"] = bool(report.get("passed"))
    return out


# ---------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quick", action="store_true",
                    help="only the head-to-head (no scaling, batch, 100k run or gradient check)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it imports")
    ap.add_argument("--text", default=None, help="UTF-8 text file (default: the embedded corpus)")
    ap.add_argument("-m", type=int, default=100, help="hidden size (default 100)")
    ap.add_argument("-T", type=int, default=25, help="sequence length (default 25)")
    ap.add_argument("--reps", type=int, default=9, help="repetitions; medians are reported")
    ap.add_argument("--wall", action="store_true", help="time with the wall clock, not CPU time")
    args = ap.parse_args(argv)
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter

    text, K = load_text(args.text)
    m, T = args.m, args.T
    res = {
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
                    "numpy": np.__version__, "blas": blas_info(),
                    "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                    "charrnn_arch": getattr(_core, "ARCH", None), "eigen_simd": _core.SIMD},
        "settings": {"m": m, "T": T, "K": K, "batch": 1, "text_chars": int(text.size),
                     "clock": "wall" if args.wall else "process CPU time"},
    }
    fl = step_flops(m, K, T)
    res["flop_per_step"] = fl
    res["numpy_max_rel_loss_diff_vs_native"] = check_numpy_matches_native(text, K)
    peak = measure_peak()
    res["peak_gflops_measured"] = peak
    res["peak_gflops_nominal"] = NOMINAL_PEAK

    hh = head_to_head(text, K, m, T, args.reps, not args.no_torch)
    res.update(hh)
    res["ratio_native_over_numpy"] = hh["native_steps_per_s"] / hh["numpy_steps_per_s"]
    res["ratio_native_f32_over_numpy"] = hh["native_f32_steps_per_s"] / hh["numpy_steps_per_s"]
    if "torch_steps_per_s" in hh:
        res["ratio_native_over_torch"] = hh["native_steps_per_s"] / hh["torch_steps_per_s"]
    for name, prec in (("native", "f64"), ("native_f32", "f32"), ("numpy", "f64"), ("torch", "f64")):
        if f"{name}_steps_per_s" in hh:
            g = fl["total"] * hh[f"{name}_steps_per_s"] / 1e9
            res[f"{name}_gflops"] = g
            res[f"{name}_pct_of_nominal_peak"] = 100 * g / NOMINAL_PEAK[prec]
            if peak:
                res[f"{name}_pct_of_measured_peak"] = 100 * g / peak[prec]

    if not args.quick:
        res["batch"] = batch_table(text, K, m, T)
        for row in res["batch"]:
            if row["B"] == 32:
                for prec in ("f64", "f32"):
                    res[f"batch32_{prec}_gflops"] = row[f"{prec}_gflops"]
                    res[f"batch32_{prec}_pct_of_nominal_peak"] = 100 * row[f"{prec}_gflops"] / NOMINAL_PEAK[prec]
                    if peak:
                        res[f"batch32_{prec}_pct_of_measured_peak"] = 100 * row[f"{prec}_gflops"] / peak[prec]
        res["scaling"] = scaling_table(text, K, 0.15)
        res.update(full_run(text, K))
        res.update(gradcheck_timing(text, K))

    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print_report(res)
    return 0


def print_report(r: dict) -> None:
    mach, s = r["machine"], r["settings"]
    print(f"{mach['cpu']}, {mach['cores']} cores; Python {mach['python']}, numpy {mach['numpy']} "
          f"({mach['blas']}); Eigen SIMD: {mach['eigen_simd']}; arch: {mach['charrnn_arch']}")
    pk = r["peak_gflops_measured"]
    print(f"peak GFLOP/s per core: measured {pk['f64']:.1f} f64 ({pk['isa_f64']}) / {pk['f32']:.1f} f32 ({pk['isa_f32']}); "
          if pk else "peak GFLOP/s per core: not measured (no C++ compiler); ", end="")
    print(f"nominal {NOMINAL_PEAK['f64']:.0f} / {NOMINAL_PEAK['f32']:.0f}")
    print(f"m={s['m']} T={s['T']} K={s['K']} batch 1: {r['flop_per_step']['total'] / 1e6:.3f} MFLOP/step "
          f"(numpy step == native step: losses agree to {r['numpy_max_rel_loss_diff_vs_native']:.0e} relative)\n")
    print(f"{'':12}{'steps/s':>10}{'us/step':>10}{'GFLOP/s':>9}{'% nominal':>10}{'% measured':>11}{'native/this':>12}")
    for name, label in (("native", "native f64"), ("native_f32", "native f32"), ("numpy", "numpy"),
                        ("torch", "torch")):
        if f"{name}_steps_per_s" not in r:
            continue
        ratio = r["native_steps_per_s"] / r[f"{name}_steps_per_s"]
        meas = r.get(f"{name}_pct_of_measured_peak")
        print(f"{label:12}{r[f'{name}_steps_per_s']:10.0f}{r[f'{name}_us_per_step']:10.1f}"
              f"{r[f'{name}_gflops']:9.2f}{r[f'{name}_pct_of_nominal_peak']:9.1f}%"
              f"{(f'{meas:10.1f}%' if meas else '         -')}{ratio:11.2f}x")
    if "torch_steps_per_s" not in r:
        print("(torch not importable: skipped)")
    print(f"native f32 / numpy: {r['ratio_native_f32_over_numpy']:.2f}x")
    if "batch" in r:
        print("\nmini-batch (m=100, T=25): B streams per step, loss = mean over the batch")
        print(f"{'B':>4}{'f64 us/step':>13}{'GFLOP/s':>9}{'chars/s':>11}{'f32 us/step':>13}{'GFLOP/s':>9}{'chars/s':>11}")
        for row in r["batch"]:
            print(f"{row['B']:4}{row['f64_us_per_step']:13.1f}{row['f64_gflops']:9.2f}{row['f64_chars_per_s']:11.0f}"
                  f"{row['f32_us_per_step']:13.1f}{row['f32_gflops']:9.2f}{row['f32_chars_per_s']:11.0f}")
        print("\nscaling (batch 1): native us/step and GFLOP/s")
        print(f"{'m':>5}{'T':>5}{'MFLOP':>9}{'f64 us':>10}{'GFLOP/s':>9}{'f32 us':>10}{'GFLOP/s':>9}")
        for row in r["scaling"]:
            print(f"{row['m']:5}{row['T']:5}{row['mflop_per_step']:9.2f}{row['f64_us_per_step']:10.1f}"
                  f"{row['f64_gflops']:9.2f}{row['f32_us_per_step']:10.1f}{row['f32_gflops']:9.2f}")
        print(f"\n100,000-step assignment run (m=100, T=25): {r['run_100k_f64_seconds']:.1f} s f64 "
              f"(smooth loss {r['run_100k_f64_final_smooth_loss']:.3f}), {r['run_100k_f32_seconds']:.1f} s f32 "
              f"(smooth loss {r['run_100k_f32_final_smooth_loss']:.3f})")
        print(f"full m=100 gradient check, central differences over all {r['gradcheck_native_fd_entries']} "
              f"entries: {r['gradcheck_native_fd_seconds']:.1f} s (relative error "
              f"{r['gradcheck_native_fd_rel_err']:.1e})")
        if "gradcheck_check_native_seconds" in r:
            print(f"charrnn.gradcheck.check_native() (FD + reference + complex step): "
                  f"{r['gradcheck_check_native_seconds']:.1f} s, passed={r['gradcheck_check_native_passed']}")


if __name__ == "__main__":
    sys.exit(main())
