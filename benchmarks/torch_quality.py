"""The PyTorch side of the quality-per-minute comparison: a model of the family trained by PyTorch
for a fixed wall time, and the best validation loss it reaches.

By default a 2-layer LSTM of m=128, batch 50, seq_length 50, Adam eta 2e-3 (torch-rnn's
optimizer and rate), every gradient entry clipped to [-5, 5], float32, on all cores. The text is
split and batched as `charrnn train --val-frac 0.1` does: the first 90% trains, as B streams at
evenly spaced offsets with the state carried and reset at the epoch wrap (torch_family's
TorchTrainer, one-hot input); the last 10%, contiguous, is scored from a zero state every
--eval-every updates and when time is up. The weights start as charrnn's do for the same --seed
(Params.random, copied in), so the two sides differ in the engine only. Not a test, and not
charrnn's trainer.

    python benchmarks/torch_quality.py --time-limit 600      # the comparison's run
    python benchmarks/torch_quality.py --time-limit 20       # a smoke check
    python benchmarks/torch_quality.py --json                # one JSON object

All cores means both sides on an otherwise idle machine: with other work on the 2 cores, torch's
two OpenMP threads wait for each other at every time step (82 updates in 60 s, against 866 on one
thread, in one such run).

The comparison's run (docs/performance.md), both sides with the same settings on all cores:
    python benchmarks/torch_quality.py --m 256 --dropout 0.2 --time-limit 600
    charrnn train --cell lstm --layers 2 --m 256 --batch 50 --seq-length 50 --optimizer adam \
        --eta 2e-3 --dropout 0.2 --dtype float32 --val-frac 0.1 --eval-every 1000 \
        --time-limit 600 --no-gradcheck
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

import charrnn
import numpy as np
from charrnn import _core
from charrnn.config import TrainConfig
from charrnn.data import split_sizes
from torch_family import TorchTrainer  # beside this file

EVAL_CHUNK = 4096  # characters per forward call of the validation pass (the state carries over)


def validation_loss(torch, trainer: TorchTrainer, text) -> float:
    """Nats per character of the predictions text[1:] from text[:-1], from a zero state: what
    charrnn's evaluate computes (it carries the state across chunks of 512; the sum is the same)."""
    codes = torch.from_numpy(np.asarray(text, dtype=np.int64))
    n = len(codes) - 1  # predictions
    state, total = trainer.zero_state(1), 0.0
    # One thread, as charrnn's evaluate: a batch-1 recurrence has nothing to share out, and the
    # per-time-step barriers of two threads made this pass 40x slower (1 s -> 40 s) on a 2-core
    # machine busy with other work.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    trainer.rnn.eval()  # no dropout between layers while scoring
    try:
        with torch.no_grad():
            for s in range(0, n, EVAL_CHUNK):
                x = codes[s : min(s + EVAL_CHUNK, n)]
                y = codes[s + 1 : s + 1 + len(x)]
                hs, state = trainer.rnn(trainer.eye[x].unsqueeze(1), state)  # (len, 1, m)
                total += float(
                    torch.nn.functional.cross_entropy(
                        trainer.out(hs.squeeze(1)), y, reduction="sum"
                    )
                )
    finally:
        torch.set_num_threads(threads)
        trainer.rnn.train()
    return total / n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--time-limit",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="wall time of training and its validation passes (default 600)",
    )
    ap.add_argument("--cell", choices=_core.CELLS, default="lstm", help="the cell (default lstm)")
    ap.add_argument("--layers", type=int, default=2, help="stacked layers (default 2)")
    ap.add_argument("-m", "--m", type=int, default=128, help="hidden units per layer (default 128)")
    ap.add_argument("--batch", type=int, default=50, help="sequences per update (default 50)")
    ap.add_argument("--seq-length", type=int, default=50, help="characters per update (default 50)")
    ap.add_argument(
        "--optimizer",
        choices=("adam", "rmsprop", "adagrad"),
        default="adam",
        help="adam (default), rmsprop (char-rnn's) or adagrad",
    )
    ap.add_argument("--eta", type=float, default=2e-3, help="learning rate (default 2e-3)")
    ap.add_argument(
        "--decay-rate",
        dest="decay",
        type=float,
        default=0.95,
        help="RMSprop's decay of the mean square (default 0.95)",
    )
    ap.add_argument(
        "--clip",
        type=float,
        default=5.0,
        help="clip every gradient entry to [-CLIP, CLIP] (default 5)",
    )
    ap.add_argument(
        "--lr-decay",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="multiply eta by FACTOR after each epoch past --lr-decay-after "
        "(default 1: none), as charrnn train does",
    )
    ap.add_argument(
        "--lr-decay-after",
        type=int,
        default=10,
        metavar="EPOCHS",
        help="epochs before the decay starts (default 10)",
    )
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    ap.add_argument(
        "--dropout",
        type=float,
        default=0.0,
        help="dropout on each layer's output, as charrnn's --dropout (default 0)",
    )
    ap.add_argument("--seed", type=int, default=0, help="initial weights, as charrnn's (default 0)")
    ap.add_argument(
        "--val-frac",
        type=float,
        default=0.1,
        help="the last fraction of the text, held out (default 0.1)",
    )
    ap.add_argument(
        "--eval-every",
        type=int,
        default=1000,
        help="updates between validation passes (default 1000)",
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help=f"torch's threads (default all cores: {os.cpu_count()})",
    )
    ap.add_argument("--text", default=None, help="UTF-8 text file (default: the embedded corpus)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = ap.parse_args(argv)
    if not 0 < args.val_frac < 1:
        ap.error("--val-frac must be in (0, 1): this run is about the validation loss")
    try:
        import torch
    except ImportError:
        print(
            "torch_quality.py: torch does not import here; it is the PyTorch side of the "
            "comparison and has nothing to run without it",
            file=sys.stderr,
        )
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    _, vocab, encoded = charrnn.load_corpus(args.text)
    config = TrainConfig(
        cell=args.cell,
        layers=args.layers,
        m=args.m,
        seq_length=args.seq_length,
        batch=args.batch,
        val_frac=args.val_frac,
        seed=args.seed,
    )
    n_train, _ = split_sizes(len(encoded), config)  # charrnn's split, and its checks
    train, val = encoded[:n_train], encoded[n_train:]
    params = _core.Params.random(
        vocab.K, args.m, sig=config.sig, seed=args.seed, cell=args.cell, layers=args.layers
    )
    trainer = TorchTrainer(
        torch,
        params,
        train,
        T=args.seq_length,
        eta=args.eta,
        clip=args.clip,
        batch=args.batch,
        optimizer=args.optimizer,
        decay=args.decay,
        dtype=args.dtype,
        dropout=args.dropout,
    )

    # Before the clock starts: torch's validation pass must score the starting weights as
    # charrnn's evaluate does.
    ours = validation_loss(torch, trainer, val)
    native_total, native_n = _core.evaluate(params, val)
    start_check = {
        "torch_val_loss": ours,
        "native_val_loss": native_total / native_n,
        "rel_diff": abs(ours - native_total / native_n) / (native_total / native_n),
    }

    def log(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    log(
        f"{args.layers} x {args.cell} m={args.m}, batch {args.batch}, seq {args.seq_length}, "
        f"{args.optimizer} {args.eta:g}, {args.dtype}, torch {torch.__version__} on "
        f"{torch.get_num_threads()} thread(s); {len(train):,} characters train, {len(val):,} "
        f"validate; starting validation loss {ours:.4f} nats (charrnn's evaluate: "
        f"{start_check['native_val_loss']:.4f})"
    )
    evaluations, smooth, steps, eval_seconds = [], None, 0, 0.0
    best = {"val_loss": math.inf, "step": None}
    stopped = "time limit"
    started = time.perf_counter()
    while True:
        epochs = steps // trainer.steps_per_epoch
        lr = args.eta * args.lr_decay ** max(0, epochs - args.lr_decay_after)
        for group in trainer.opt.param_groups:
            group["lr"] = lr
        loss = trainer.step()
        steps += 1
        if not math.isfinite(loss):
            stopped = "diverged"
            break
        smooth = loss if smooth is None else 0.999 * smooth + 0.001 * loss
        out_of_time = time.perf_counter() - started >= args.time_limit
        if steps % args.eval_every == 0 or out_of_time:
            t0 = time.perf_counter()
            val_loss = validation_loss(torch, trainer, val)
            eval_seconds += time.perf_counter() - t0
            seconds = time.perf_counter() - started
            evaluations.append(
                {
                    "step": steps,
                    "seconds": seconds,
                    "epoch": steps / trainer.steps_per_epoch,
                    "val_loss": val_loss,
                    "val_bits_per_char": val_loss / math.log(2),
                }
            )
            if val_loss < best["val_loss"]:
                best = {"val_loss": val_loss, "step": steps}
            log(
                f"step {steps:7d}  {seconds:6.0f} s  epoch {steps / trainer.steps_per_epoch:6.2f}  "
                f"smooth loss {smooth / args.seq_length:.4f} nats/char  validation "
                f"{val_loss:.4f} nats = {val_loss / math.log(2):.4f} bits/char"
            )
        if out_of_time:
            break
    seconds = time.perf_counter() - started

    res = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            **{k: v for k, v in vars(args).items() if k not in ("json", "quiet", "text")},
            "text": args.text or "embedded corpus",
            "K": vocab.K,
            "train_chars": len(train),
            "val_chars": len(val),
            "input": "one-hot",
            "clip_kind": "elementwise",
        },
        "start_check": start_check,
        "stopped": stopped,
        "steps": steps,
        "epochs": steps / trainer.steps_per_epoch,
        "seconds": seconds,
        "eval_seconds": eval_seconds,
        "chars_per_s": steps * args.batch * args.seq_length / (seconds - eval_seconds),
        "best_val_loss": best["val_loss"],
        "best_val_bits_per_char": best["val_loss"] / math.log(2),
        "best_val_step": best["step"],
        "evaluations": evaluations,
    }
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        print(
            f"PyTorch {torch.__version__}, {res['machine']['threads']} thread(s): "
            f"{steps:,} updates ({res['epochs']:.2f} epochs) in {seconds:.0f} s of wall time "
            f"({eval_seconds:.0f} s of it validating; {res['chars_per_s']:,.0f} characters/s "
            f"training); stopped: {stopped}"
        )
        print(
            f"best validation loss {best['val_loss']:.4f} nats = "
            f"{res['best_val_bits_per_char']:.4f} bits per character, at update {best['step']}"
        )
    return 0 if stopped == "time limit" else 1


if __name__ == "__main__":
    sys.exit(main())
