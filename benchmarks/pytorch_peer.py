"""The PyTorch script a user would write instead of charrnn: nn.Embedding(K, 64) + nn.LSTM + nn.Linear,
mean cross-entropy, clip_grad_norm_(5), Adam(2e-3), PyTorch's default initialisation, batches of
windows at random offsets of the text, each from a zero state. It trains on charrnn's split of a
text (the last --val-frac held out) and prints the validation loss against wall time.

Unlike torch_quality.py, which starts PyTorch from charrnn's weights to compare engines, this is
a recipe of its own. Each of its choices can be switched to charrnn's, one at a time, to find what
makes the two learn differently per update (--input onehot, --init charrnn, --loss sum,
--clip-value 5, --batching streams). Not part of the package; needs torch.

    python benchmarks/pytorch_peer.py --time-limit 480               # the peer, 8 minutes
    python benchmarks/pytorch_peer.py --steps 600 --eval-every 300   # a fixed number of updates
    python benchmarks/pytorch_peer.py --steps 200 --json             # one JSON object
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
from charrnn.config import TrainConfig
from charrnn.data import split_sizes

EVAL_CHUNK = 4096  # characters per forward call of the validation pass (the state carries over)


class Peer:
    """The model and one training step. The state is zero at every batch (--batching random) or
    carried between the windows of B evenly spaced streams, as charrnn trains (streams)."""

    def __init__(self, torch, args, K: int, train: np.ndarray):
        self.torch, self.args, self.K = torch, args, K
        nn = torch.nn
        torch.manual_seed(args.seed)
        width = args.embedding if args.input == "embedding" else K
        self.embed = (
            nn.Embedding(K, args.embedding)
            if args.input == "embedding"
            else nn.Embedding.from_pretrained(torch.eye(K), freeze=True)
        )
        module = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[args.cell]
        self.rnn = module(width, args.m, num_layers=args.layers, dropout=args.dropout)
        self.drop = nn.Dropout(args.dropout)
        self.out = nn.Linear(args.m, K)
        if args.init == "forget1" and args.cell == "lstm":
            with torch.no_grad():
                for name, q in self.rnn.named_parameters():
                    if name.startswith("bias_ih"):
                        q[args.m : 2 * args.m] += 1.0
        if args.init == "charrnn":  # zero biases, the LSTM's forget gate at 1, one bias per gate
            with torch.no_grad():
                for name, q in self.rnn.named_parameters():
                    if name.startswith("bias"):
                        q.zero_()
                        if args.cell == "lstm" and name.startswith("bias_ih"):
                            q[args.m : 2 * args.m] = 1.0
                        if name.startswith("bias_hh") and args.cell != "gru":
                            q.requires_grad_(False)
                self.out.bias.zero_()
        self.params = [
            q
            for mod in (self.embed, self.rnn, self.out)
            for q in mod.parameters()
            if q.requires_grad
        ]
        self.opt = torch.optim.Adam(self.params, lr=args.eta)
        self.train = torch.from_numpy(np.asarray(train, dtype=np.int64))
        self.gen = torch.Generator().manual_seed(args.seed)
        B, T = args.batch, args.seq_length
        self.chunk = len(train) // B
        self.steps_per_epoch = (
            (self.chunk - 1) // T if args.batching == "streams" else len(train) / (B * T)
        )
        self.position, self.state = 0, None

    def batch(self):
        torch, B, T = self.torch, self.args.batch, self.args.seq_length
        if self.args.batching == "random":
            starts = torch.randint(len(self.train) - T - 1, (B,), generator=self.gen)
            return torch.stack([self.train[s : s + T + 1] for s in starts.tolist()], 1), None
        if self.position + T + 1 > self.chunk:  # the epoch wraps: state back to zero
            self.position, self.state = 0, None
        starts = torch.arange(B) * self.chunk + self.position
        self.position += T
        return torch.stack([self.train[s : s + T + 1] for s in starts.tolist()], 1), self.state

    def step(self) -> float:
        torch, args = self.torch, self.args
        window, state = self.batch()  # (T + 1, B)
        hs, state = self.rnn(self.embed(window[:-1]), state)
        logits = self.out(self.drop(hs))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, self.K), window[1:].reshape(-1))
        objective = loss * args.seq_length if args.loss == "sum" else loss
        self.opt.zero_grad()
        objective.backward()
        if args.clip_value:
            torch.nn.utils.clip_grad_value_(self.params, args.clip_value)
        else:
            torch.nn.utils.clip_grad_norm_(self.params, args.clip_norm)
        self.opt.step()
        if args.batching == "streams":
            self.state = (
                tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            )
        return loss.item()

    def validation_loss(self, text: np.ndarray) -> float:
        """Nats per character of text[1:] from text[:-1], from a zero state carried through the
        whole text on one thread: what charrnn's evaluate computes."""
        torch = self.torch
        codes = torch.from_numpy(np.asarray(text, dtype=np.int64))
        n, state, total = len(codes) - 1, None, 0.0
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a batch-1 recurrence: a second thread only waits
        self.rnn.eval()
        try:
            with torch.no_grad():
                for s in range(0, n, EVAL_CHUNK):
                    x = codes[s : min(s + EVAL_CHUNK, n)]
                    hs, state = self.rnn(self.embed(x).unsqueeze(1), state)
                    total += float(
                        torch.nn.functional.cross_entropy(
                            self.out(hs.squeeze(1)), codes[s + 1 : s + 1 + len(x)], reduction="sum"
                        )
                    )
        finally:
            torch.set_num_threads(threads)
            self.rnn.train()
        return total / n


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--text", default=None, help="UTF-8 text file (default: the embedded corpus)")
    ap.add_argument(
        "--time-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wall time of training and its validation passes",
    )
    ap.add_argument("--steps", type=int, default=None, help="stop after this many updates")
    ap.add_argument("--cell", choices=("lstm", "gru", "rnn"), default="lstm")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--m", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-length", type=int, default=100)
    ap.add_argument("--eta", type=float, default=2e-3, help="Adam's learning rate")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--input", choices=("embedding", "onehot"), default="embedding")
    ap.add_argument("--embedding", type=int, default=64, help="the embedding's width")
    ap.add_argument(
        "--init",
        choices=("pytorch", "charrnn", "forget1"),
        default="pytorch",
        help="pytorch: its defaults; charrnn: zero biases, forget gate bias 1, one "
        "bias per gate; forget1: PyTorch's, the forget gate's bias_ih + 1",
    )
    ap.add_argument(
        "--loss",
        choices=("mean", "sum"),
        default="mean",
        help="the objective: mean over characters, or summed over the window",
    )
    ap.add_argument("--clip-norm", type=float, default=5.0)
    ap.add_argument(
        "--clip-value",
        type=float,
        default=0.0,
        help="> 0: clip each gradient entry instead of the norm",
    )
    ap.add_argument("--batching", choices=("random", "streams"), default="random")
    ap.add_argument("--val-frac", type=float, default=0.1)
    ap.add_argument(
        "--eval-every",
        type=int,
        default=0,
        help="updates between validation passes (0: by --eval-seconds only)",
    )
    ap.add_argument(
        "--eval-seconds",
        type=float,
        default=0.0,
        help="wall time between validation passes (0: by --eval-every only)",
    )
    ap.add_argument("--at-updates", default="", help="also score after these updates (1,2,...)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON object at the end")
    args = ap.parse_args(argv)
    if args.time_limit is None and args.steps is None:
        ap.error("give --time-limit or --steps (or both)")
    if args.eval_every <= 0 and args.eval_seconds <= 0:
        args.eval_every = 500
    return args


def main(argv=None) -> int:
    args = parse(argv)
    try:
        import torch
    except ImportError:
        print("pytorch_peer.py: torch does not import here (pip install torch)", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    _, vocab, encoded = charrnn.load_corpus(args.text)
    config = TrainConfig(seq_length=args.seq_length, batch=args.batch, val_frac=args.val_frac)
    n_train, _ = split_sizes(len(encoded), config)
    train, val = encoded[:n_train], encoded[n_train:]
    peer = Peer(torch, args, vocab.K, train)
    print(
        f"# pytorch {torch.__version__}, {args.threads} thread(s); {args.layers} x {args.cell} "
        f"m={args.m}, input {args.input}, init {args.init}, loss {args.loss}, batching "
        f"{args.batching}; {len(train):,} train / {len(val):,} validation characters",
        file=sys.stderr,
        flush=True,
    )
    marks = {int(s) for s in args.at_updates.split(",") if s.strip()}
    next_eval = args.eval_seconds or math.inf
    curve, steps, losses, started = [], 0, [], time.perf_counter()
    validating = 0.0  # seconds spent in validation passes, to report training time alone
    while True:
        losses.append(peer.step())
        steps += 1
        elapsed = time.perf_counter() - started
        done = (
            (args.steps is not None and steps >= args.steps)
            or (args.time_limit is not None and elapsed >= args.time_limit)
            or not math.isfinite(losses[-1])
        )
        due = (args.eval_every and steps % args.eval_every == 0) or elapsed >= next_eval
        if due or done or steps in marks:
            val_started = time.perf_counter()
            val_loss = peer.validation_loss(val)
            now = time.perf_counter()
            validating += now - val_started
            row = {
                "step": steps,
                "seconds": round(now - started, 2),
                "train_seconds": round(now - started - validating, 2),
                "train_loss": float(np.mean(losses[-50:])),
                "val_loss": val_loss,
                "val_bits_per_char": val_loss / math.log(2),
            }
            curve.append(row)
            while next_eval <= row["seconds"]:
                next_eval += args.eval_seconds
            print(
                f"step {steps:6d}  {row['seconds']:7.1f} s  train {row['train_loss']:.4f}  "
                f"validation {val_loss:.4f} nats/char",
                file=sys.stderr,
                flush=True,
            )
        if done:
            break
    best = min(curve, key=lambda r: r["val_loss"])
    result = {
        "engine": "pytorch",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "K": vocab.K,
        "steps": steps,
        "seconds": curve[-1]["seconds"],
        "train_seconds": curve[-1]["train_seconds"],
        "best_val_loss": best["val_loss"],
        "best_step": best["step"],
        "curve": curve,
    }
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print(
            f"{steps:,} updates in {result['train_seconds']:.1f} s of training "
            f"({result['seconds']:.1f} s in all); best validation "
            f"{best['val_loss']:.4f} nats/char at update {best['step']}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
