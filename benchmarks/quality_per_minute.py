"""Quality per minute: charrnn and the PyTorch script a user would write (pytorch_peer.py), each
trained for the same wall time on the same cores and the same split of a text, one after the
other; the validation loss of both against seconds and against updates, as a table, a JSON file
and a plot.

Each side runs in a process of its own on --threads threads and scores the held-out text (the
last --val-frac, from a zero state, one thread) on the same schedule: every --eval-seconds of
wall time and at the updates listed in --at-updates; the scoring counts in the wall time, as it
does for a user. charrnn runs its Trainer (the loop `charrnn train` runs) with the settings of
`charrnn train --recipe pytorch` by default (--embedding 64 --forget-bias 0, Adam); --embedding 0
--forget-bias 1 is charrnn's plain LSTM.

    python benchmarks/quality_per_minute.py                      # 8 minutes each, embedded corpus
    python benchmarks/quality_per_minute.py --text other.txt --out qpm-other
    python benchmarks/quality_per_minute.py --minutes 1 --m 64   # a smoke run

Not a test; needs torch (pip install torch) for the PyTorch side.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from charrnn.machine import cpu_model

HERE = Path(__file__).resolve().parent


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text", default=None, help="UTF-8 text file (default: the embedded corpus)")
    ap.add_argument("--minutes", type=float, default=8.0, help="wall time of each side")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of each side")
    ap.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--m", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-length", type=int, default=100)
    ap.add_argument("--eta", type=float, default=2e-3, help="Adam's learning rate, both sides")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument(
        "--embedding",
        type=int,
        default=64,
        help="charrnn's --embedding (0: one-hot); the peer always embeds in 64",
    )
    ap.add_argument(
        "--forget-bias",
        type=float,
        default=0.0,
        help="charrnn's --forget-bias (1: char-rnn's; the peer keeps PyTorch's)",
    )
    ap.add_argument(
        "--clip-norm",
        type=float,
        default=0.0,
        help="charrnn's --clip-norm (0: its default elementwise clip at 5)",
    )
    ap.add_argument(
        "--dtype",
        choices=("float32", "float64"),
        default="float32",
        help="charrnn's precision (PyTorch trains in float32)",
    )
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument(
        "--eval-seconds",
        type=float,
        default=60.0,
        help="wall time between validation passes (default 60)",
    )
    ap.add_argument(
        "--at-updates",
        default="500,1000,2000",
        help="also score after these updates, for the per-update comparison",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sides", default="charrnn,pytorch", help="which to run, in order")
    ap.add_argument("--out", default="quality-per-minute", help="folder for the table and plot")
    ap.add_argument("--side", choices=("charrnn",), help=argparse.SUPPRESS)  # the child process
    return ap.parse_args(argv)


def milestones(args) -> list[int]:
    return sorted(int(s) for s in args.at_updates.split(",") if s.strip())


def charrnn_side(args) -> dict:
    """The charrnn side, in this process: the Trainer in chunks of updates, scored on the
    schedule. Prints one JSON object."""
    import charrnn
    from charrnn import TrainConfig, Trainer

    text, _, _ = charrnn.load_corpus(args.text)
    config = TrainConfig(
        cell=args.cell,
        layers=args.layers,
        m=args.m,
        batch=args.batch,
        seq_length=args.seq_length,
        optimizer="adam",
        eta=args.eta,
        dropout=args.dropout,
        embedding=args.embedding,
        forget_bias=args.forget_bias,
        clip_norm=args.clip_norm,
        dtype=args.dtype,
        val_frac=args.val_frac,
        seed=args.seed,
        threads=args.threads,
    )
    trainer = Trainer(text, config)
    limit, marks = args.minutes * 60.0, milestones(args)
    curve, losses, next_eval = [], [], args.eval_seconds
    started = time.perf_counter()
    while True:
        # Chunks small enough to stop near the time limit and the milestones (~1 s each).
        chunk = 8
        upcoming = [s for s in marks if s > trainer.step]
        if upcoming:
            chunk = min(chunk, upcoming[0] - trainer.step)
        chunk_losses, _ = trainer.train(chunk)
        losses.extend(chunk_losses.tolist())
        elapsed = time.perf_counter() - started
        done = elapsed >= limit
        if done or elapsed >= next_eval or trainer.step in marks:
            val = trainer.evaluate_validation().nats
            seconds = time.perf_counter() - started
            curve.append(
                {
                    "step": trainer.step,
                    "seconds": round(seconds, 2),
                    "train_loss": sum(losses[-50:]) / len(losses[-50:]) / args.seq_length,
                    "val_loss": val,
                    "val_bits_per_char": val / math.log(2),
                }
            )
            print(
                f"charrnn  step {trainer.step:6d}  {seconds:6.0f} s  validation {val:.4f} "
                f"nats/char",
                file=sys.stderr,
                flush=True,
            )
            while next_eval <= seconds:
                next_eval += args.eval_seconds
        if done:
            break
    best = min(curve, key=lambda r: r["val_loss"])
    return {
        "engine": "charrnn",
        "version": charrnn.__version__,
        "arch": charrnn._core.ARCH,
        "settings": config.to_dict(),
        "steps": trainer.step,
        "seconds": curve[-1]["seconds"],
        "best_val_loss": best["val_loss"],
        "best_step": best["step"],
        "curve": curve,
    }


def run_side(name: str, args) -> dict:
    if name == "charrnn":
        cmd = [sys.executable, __file__, "--side", "charrnn", *sys.argv[1:]]
    else:
        cmd = [
            sys.executable,
            str(HERE / "pytorch_peer.py"),
            "--json",
            "--time-limit",
            str(args.minutes * 60.0),
            "--threads",
            str(args.threads),
            "--cell",
            args.cell,
            "--layers",
            str(args.layers),
            "--m",
            str(args.m),
            "--batch",
            str(args.batch),
            "--seq-length",
            str(args.seq_length),
            "--eta",
            str(args.eta),
            "--dropout",
            str(args.dropout),
            "--val-frac",
            str(args.val_frac),
            "--seed",
            str(args.seed),
            "--eval-seconds",
            str(args.eval_seconds),
            "--at-updates",
            args.at_updates,
        ]
        if args.text:
            cmd += ["--text", args.text]
    print(
        f"# {name}: {args.minutes:g} minutes on {args.threads} thread(s)",
        file=sys.stderr,
        flush=True,
    )
    done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    # The JSON object is the end of the output (an editable install may print its rebuild first).
    return json.loads(
        done.stdout[done.stdout.index("\n{") + 1 if not done.stdout.startswith("{") else 0 :]
    )


def at_step(curve: list[dict], step: int) -> float | None:
    for row in curve:
        if row["step"] == step:
            return row["val_loss"]
    return None


def report(results: dict, args, out: Path) -> str:
    lines = [
        f"# Quality per minute: {args.minutes:g} minutes each, {args.threads} thread(s)",
        "",
        f"Text: {args.text or 'the embedded corpus'}, last {args.val_frac:g} held out. "
        f"{args.layers} x {args.cell} m = {args.m}, batch {args.batch}, T {args.seq_length}, "
        f"Adam {args.eta:g}. Machine: {cpu_model()}, {os.cpu_count()} cores; "
        f"charrnn core {results.get('charrnn', {}).get('arch', '?')}.",
        "",
        "| side | updates | best validation nats/char | bits/char | at update | "
        + " | ".join(f"val @ {s}" for s in milestones(args))
        + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(milestones(args)),
    ]
    for name, res in results.items():
        marks = [at_step(res["curve"], s) for s in milestones(args)]
        lines.append(
            f"| {name} | {res['steps']:,} | {res['best_val_loss']:.4f} | "
            f"{res['best_val_loss'] / math.log(2):.4f} | {res['best_step']:,} | "
            + " | ".join("-" if v is None else f"{v:.4f}" for v in marks)
            + " |"
        )
    lines += ["", "Curves (seconds, update, validation nats/char):", ""]
    for name, res in results.items():
        lines.append(
            f"- {name}: "
            + ", ".join(
                f"({r['seconds']:.0f} s, {r['step']}, {r['val_loss']:.3f})" for r in res["curve"]
            )
        )
    text = "\n".join(lines) + "\n"
    (out / "table.md").write_text(text, encoding="utf-8")
    return text


def plot(results: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for name, res in results.items():
        xs = [r["seconds"] for r in res["curve"]]
        us = [r["step"] for r in res["curve"]]
        ys = [r["val_bits_per_char"] for r in res["curve"]]
        a.plot(xs, ys, marker=".", label=name)
        b.plot(us, ys, marker=".", label=name)
    a.set_xlabel("wall time (s)")
    b.set_xlabel("updates")
    a.set_ylabel("validation bits per character")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "quality.png", dpi=110)


def main(argv=None) -> int:
    args = parse(argv)
    if args.side == "charrnn":
        print(json.dumps(charrnn_side(args)))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in [s.strip() for s in args.sides.split(",") if s.strip()]:
        results[name] = run_side(name, args)
        (out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(report(results, args, out))
    plot(results, out)
    print(f"wrote {out}/: results.json, table.md, quality.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
