"""The `charrnn` command line: `train`, `sample`, `evaluate`, `export`, `gradcheck`, `check`,
`sweep` and `inspect`: its options (the training settings generated from TrainConfig) and main;
what each command does is in commands.py (sweep's in charrnn.sweep.command, inspect's in
charrnn.inspect.command). Each error a user can cause ends with a one-line message and a
non-zero exit status, never a traceback: 1 bad input or failed check, 2 bad usage, 3 training
diverged, 130 interrupted (state saved)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 2, 3, 130


def _number(parse: type, low: float, strict: bool):
    """An argparse type: a whole number (parse=int) or a finite number (parse=float) that is
    > low (strict) or >= low."""
    kind = "a whole number" if parse is int else "a number"
    bound = f"{'>' if strict else '>='} {low:g}"

    def convert(text: str):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        if not ((value > low if strict else value >= low) and value != float("inf")):
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text}")
        return value

    return convert


_positive_int = _number(int, 0, strict=True)
_nonnegative_int = _number(int, 0, strict=False)
_positive_float = _number(float, 0, strict=True)
_nonnegative_float = _number(float, 0, strict=False)


def _fraction(text: str) -> float:
    """A number in [0, 1): --val-frac, --dropout."""
    value = _nonnegative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _top_p(text: str) -> float:
    value = _positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


# How each TrainConfig setting is given on the command line: its flag (default --name-with-dashes),
# type, metavar or choices. Its help and its default are TrainConfig's (charrnn.config), written
# there once; an option left out defaults to None, so TrainConfig's default applies and, on
# --resume, only the settings given count as changes.
TRAIN_OPTIONS: dict[str, dict[str, Any]] = {
    # --cell and --layers are checked by TrainConfig, so that a bad value is a one-line error
    # (exit 1) as any other bad model setting is.
    "cell": {"metavar": "CELL"},
    "layers": {"type": int},
    "embedding": {"type": _nonnegative_int, "metavar": "D"},
    "m": {"type": _positive_int},
    "seq_length": {"type": _positive_int},
    "eta": {"type": _positive_float},
    "sig": {"type": _nonnegative_float},
    "forget_bias": {"type": float, "metavar": "F"},
    "seed": {"type": _nonnegative_int},
    "eps": {"type": _positive_float},
    "clip": {"type": _positive_float},
    "optimizer": {"choices": ("adagrad", "rmsprop", "adam")},
    "clip_norm": {"type": _positive_float, "metavar": "X"},
    "decay": {"type": _nonnegative_float, "flag": "--decay-rate"},
    "beta1": {"type": _nonnegative_float},
    "beta2": {"type": _nonnegative_float},
    "batch": {"type": _positive_int},
    "dtype": {"choices": ("float64", "float32")},
    "val_frac": {"type": _fraction},
    "newline": {"choices": ("lf", "keep")},
    "diverge_factor": {"type": _positive_float},
    "lr_decay": {"type": _positive_float, "metavar": "FACTOR"},
    "lr_decay_after": {"type": _nonnegative_int, "metavar": "EPOCHS"},
    "dropout": {"type": _fraction, "metavar": "P"},
    "documents": {"action": "store_const", "const": True},
    "threads": {"type": _positive_int},
}


def _setting_help(name: str) -> str:
    """TrainConfig's docstring of a setting and its default, on one line."""
    from charrnn.config import defaults, field_docs

    default = defaults()[name]
    shown = {None: "none", True: "on", False: "off"}.get(default, default)
    text = " ".join(field_docs()[name].split()).replace("%", "%%")
    return f"{text} (default {shown})"


def add_setting(parser: Any, name: str, default: Any = None, **changes: Any) -> None:
    """The option of TrainConfig setting `name`, from TRAIN_OPTIONS and the field's docstring;
    `default` None (train: TrainConfig's applies) or a value (gradcheck's own)."""
    options = {**TRAIN_OPTIONS[name], **changes}
    flag = options.pop("flag", "--" + name.replace("_", "-"))
    parser.add_argument(flag, dest=name, default=default, help=_setting_help(name), **options)


def build_parser() -> argparse.ArgumentParser:
    from charrnn import __version__

    parser = argparse.ArgumentParser(
        prog="charrnn",
        description="Character-level recurrent networks (vanilla RNN, LSTM, GRU, stacked) with a "
        "C++ core: train on plain text, check gradients, sample, evaluate, export.",
    )
    parser.add_argument("--version", action="version", version=f"charrnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = _add_train(sub)
    _add_model_options(p)
    _add_run_options(p)
    _add_sample(sub)
    _add_evaluate(sub)
    _add_export(sub)
    _add_gradcheck(sub)
    _add_check(sub)
    _add_sweep(sub)
    _add_inspect(sub)
    return parser


def _add_train(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train on a text file and write the run's files",
        description="Train a network with AdaGrad (by default the assignment's "
        "one-layer vanilla RNN and its loop) and "
        "write metrics.csv, loss.png, samples.txt, best.npz, last.npz, "
        "passage.txt and report.md into --out.",
    )
    p.add_argument(
        "file",
        nargs="?",
        help="UTF-8 text file (default: the embedded Shakespeare "
        "corpus; on --resume, the checkpoint's text)",
    )
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--steps",
        type=_nonnegative_int,
        help="total updates, counted from the start of training (default 100000)",
    )
    length.add_argument("--epochs", type=_positive_float, help="total passes over the text")
    return p


def _add_model_options(p: argparse.ArgumentParser) -> None:
    """train's model and training settings: every TrainConfig field (TRAIN_OPTIONS), and the
    recipes that set several at once."""
    from charrnn.config import RECIPES

    settings = p.add_argument_group("settings (charrnn.TrainConfig)")
    for name in TRAIN_OPTIONS:
        add_setting(settings, name)
    p.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        help="settings for a new gated model, each still changeable: pytorch = "
        "--embedding 64 --forget-bias 0 --optimizer adam --eta 2e-3, what a "
        "PyTorch script does (learns about twice as fast per update)",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """train's settings of the run (RunSettings): intervals, time limit, files."""
    p.add_argument(
        "--sample-every",
        type=_positive_int,
        default=10_000,
        help="updates between samples (default 10000)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        help="updates between checkpoints (default: --sample-every)",
    )
    p.add_argument(
        "--eval-every",
        type=_positive_int,
        help="updates between validation passes (default: --sample-every)",
    )
    p.add_argument(
        "--time-limit",
        type=_positive_float,
        metavar="SECONDS",
        help="stop cleanly after this much wall time, writing every file as at the end",
    )
    p.add_argument(
        "--init-from",
        metavar="CKPT",
        help="start a new run (step 0, fresh optimizer state) from a checkpoint's "
        "weights, e.g. to fine-tune on another text",
    )
    p.add_argument(
        "--sample-length",
        type=_nonnegative_int,
        default=200,
        help="characters per sample (default 200)",
    )
    p.add_argument(
        "--passage-length",
        type=_nonnegative_int,
        default=1000,
        help="characters of the final passage (default 1000)",
    )
    p.add_argument("--out", help="output folder (default: runs/DATE-TIME, or the resumed folder)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last.npz")
    p.add_argument(
        "--no-gradcheck",
        action="store_true",
        help="skip the gradient check that runs alongside for the report",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--inspect",
        action="store_true",
        help="also write inspect.html beside report.md (charrnn inspect on best.npz)",
    )


def _add_sample(sub: Any) -> None:
    s = sub.add_parser(
        "sample",
        help="print text from a checkpoint",
        description="Print characters drawn from a trained network.",
    )
    s.add_argument("checkpoint", metavar="CKPT", help="a best.npz or last.npz (or a run folder)")
    s.add_argument(
        "-n",
        type=_nonnegative_int,
        default=1000,
        help="characters (default 1000; a model of documents: whole documents, one "
        "per line, up to about this many characters)",
    )
    s.add_argument(
        "--documents",
        type=_positive_int,
        metavar="N",
        help="print N new documents, one per line, each from a zero state until the "
        "model ends it (a model trained with --documents)",
    )
    s.add_argument(
        "--max-length",
        type=_positive_int,
        default=1000,
        help="with --documents: cut a document at this many characters (default 1000)",
    )
    s.add_argument(
        "--temperature",
        type=_positive_float,
        default=1.0,
        help="< 1 sharper, > 1 flatter (default 1)",
    )
    s.add_argument(
        "--top-p",
        type=_top_p,
        default=1.0,
        help="draw only from the most likely characters holding this much "
        "probability (default 1: all)",
    )
    prime = s.add_mutually_exclusive_group()
    prime.add_argument("--prime", help="text the network reads first (printed before the sample)")
    prime.add_argument("--prime-file", metavar="FILE", help="read the priming text from a file")
    s.add_argument(
        "--greedy",
        action="store_true",
        help="the most likely character at every step (no randomness)",
    )
    s.add_argument("--output", metavar="FILE", help="write the text to FILE instead of printing it")
    s.add_argument("--seed", type=_nonnegative_int, default=0, help="random seed (default 0)")


def _add_evaluate(sub: Any) -> None:
    e = sub.add_parser(
        "evaluate",
        help="how well a checkpoint predicts a text",
        description="The mean loss over the N-1 next-character predictions of a "
        "text, from a zero state: nats and bits per character, and "
        "perplexity.",
    )
    e.add_argument("checkpoint", metavar="CKPT", help="a best.npz or last.npz (or a run folder)")
    e.add_argument("file", metavar="FILE", help="UTF-8 text file")
    e.add_argument(
        "--documents",
        action="store_true",
        help="FILE holds one document per line: each from a zero state, its end "
        "counted as a predicted character",
    )
    e.add_argument(
        "--threads",
        type=_positive_int,
        help="threads to run on (default: every core this process may use)",
    )
    e.add_argument("--json", action="store_true", help="print one JSON object")


def _add_export(sub: Any) -> None:
    from charrnn.model import EXPORT_FORMATS

    x = sub.add_parser(
        "export",
        help="write a checkpoint's weights for another framework",
        description="Write a checkpoint's weights as an .npz for another "
        "framework. torch: a state_dict of torch.nn.RNN/LSTM/GRU "
        "(rnn.*) + torch.nn.Linear (decoder.*), and `vocabulary`.",
    )
    x.add_argument("checkpoint", metavar="CKPT", help="a best.npz or last.npz (or a run folder)")
    x.add_argument("out", metavar="OUT.npz", help="file to write")
    x.add_argument(
        "--format",
        default="torch",
        help=f"target framework: {', '.join(EXPORT_FORMATS)} (default torch)",
    )


def _add_inspect(sub: Any) -> None:
    i = sub.add_parser(
        "inspect",
        help="a page that shows what a checkpoint's network learned",
        description="Write one self-contained HTML page (no network needed) showing what the "
        "network learned on a text: surprisal, units that track features, gates, memory, "
        "samples, and the model running in the page. TEXT defaults to the run's validation "
        "text, else its training text.",
    )
    i.add_argument("checkpoint", metavar="CKPT", help="a best.npz or last.npz (or a run folder)")
    i.add_argument("file", metavar="TEXT", nargs="?", help="UTF-8 text file")
    i.add_argument("--out", help="the page to write (default: inspect.html beside CKPT)")
    i.add_argument(
        "--max-chars",
        type=_positive_int,
        default=100_000,
        help="characters of TEXT the statistics cover (default 100000)",
    )
    i.add_argument(
        "--window",
        type=_positive_int,
        help="characters shown in the page with every activation (default 3000, fewer if "
        "the page would pass 5 MB; a window given shrinks only past 20 MB, with a warning)",
    )
    i.add_argument("--quiet", action="store_true", help="no progress bar, no summary line")


def _add_gradcheck(sub: Any) -> None:
    from charrnn.config import defaults
    from charrnn.gradcheck import FD_ORDER, FD_STEP

    g = sub.add_parser(
        "gradcheck",
        help="check every gradient of a fresh model",
        description="Check every entry of every gradient of the native core "
        "against central differences, the numpy reference and "
        "complex-step derivatives, on the first seq_length + 1 "
        "characters of FILE. Exit status 1 if a check fails.",
    )
    g.add_argument("file", nargs="?", help="UTF-8 text file (default: the embedded corpus)")
    for name in ("cell", "layers", "m", "embedding", "seq_length", "seed", "sig"):
        add_setting(g, name, default=defaults()[name])
    g.add_argument(
        "--h",
        type=_positive_float,
        default=FD_STEP,
        help=f"finite-difference step (default {FD_STEP:g})",
    )
    g.add_argument(
        "--order",
        type=int,
        choices=(2, 4),
        default=FD_ORDER,
        help=f"central differences of order 2 (the assignment's, best with --h 1e-4) "
        f"or 4 (default {FD_ORDER})",
    )
    g.add_argument(
        "--dropout",
        type=_fraction,
        default=0.0,
        metavar="P",
        help="check under one fixed dropout mask of probability P (default 0)",
    )
    g.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _add_check(sub: Any) -> None:
    from charrnn._core import CELLS

    c = sub.add_parser(
        "check",
        help="check the gradients of your own code, in any language",
        description="Check gradients your own code computes (MATLAB, numpy, ...). "
        "`charrnn check --write-case CASE [FILE]` writes a case: the "
        "weights (W, U, V, b, c for the vanilla RNN), the inputs and "
        "targets as indices from 0 (x, y) and one-hot (X, Y, K x T), "
        "the initial state h0 and charrnn's loss, as .npz or .mat "
        "(needs scipy). Compute your gradients on it and save them as "
        "dW, dU, dV, db, dc (and loss, to compare it) in .npz or .mat; "
        "`charrnn check CASE GRADS` compares them with charrnn's and "
        "prints the gradient check's table. Exit status 1 if a check "
        "fails. In Python, charrnn.check_gradients(fn) also compares "
        "with finite differences of your own loss.",
    )
    c.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="CASE GRADS: the case and your gradients; with --write-case: a UTF-8 "
        "text to take the sequence from (default: the embedded corpus)",
    )
    c.add_argument("--write-case", metavar="CASE", help="write a case to CASE (.npz or .mat)")
    c.add_argument("--cell", help=f"with --write-case: {', '.join(CELLS)} (default rnn)")
    c.add_argument(
        "--layers", type=_positive_int, help="with --write-case: stacked layers (default 1)"
    )
    c.add_argument("--m", type=_positive_int, help="with --write-case: hidden units (default 5)")
    c.add_argument(
        "--seq-length", type=_positive_int, help="with --write-case: sequence length T (default 25)"
    )
    c.add_argument(
        "--seed",
        type=_nonnegative_int,
        help="with --write-case: seed of the weights and initial state (default 0)",
    )
    c.add_argument(
        "--sig",
        type=_nonnegative_float,
        help="with --write-case: weight std of the vanilla RNN (default 0.1)",
    )
    c.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    c.set_defaults(usage_error=c.error)


def _add_sweep(sub: Any) -> None:
    """`charrnn sweep`: its options and its work live in charrnn.sweep.command."""
    from charrnn.sweep.command import add_arguments

    w = sub.add_parser(
        "sweep",
        help="many training runs over settings, seeds and texts (here, or on Ray)",
        description="Train a trial for every point of a grid (or random points) of settings, "
        "for every seed, in worker processes on this machine or on Ray Tune (--ray); write "
        "trials.csv, curves.png and best/ (the best trial's checkpoints) into --out, and print "
        "the trials ranked by validation bits per character.",
    )
    add_arguments(w)


def _sweep(args: argparse.Namespace) -> int:
    from charrnn.sweep.command import main

    return main(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for the run's report
    from charrnn import commands

    if args.command == "check":
        commands.check_usage(args)
    from charrnn.checkpoint import CheckpointError
    from charrnn.experiment import RunError
    from charrnn.train import TrainingDiverged

    command = {
        "train": commands.train,
        "sample": commands.sample,
        "evaluate": commands.evaluate,
        "export": commands.export,
        "gradcheck": commands.gradcheck,
        "check": commands.check,
        "sweep": _sweep,
        "inspect": commands.inspect,
    }[args.command]
    try:
        return command(args)
    except TrainingDiverged as err:
        print(
            f"charrnn: training stopped: {err}; best.npz and last.npz were left as they were",
            file=sys.stderr,
        )
        return EXIT_DIVERGED
    except KeyboardInterrupt:
        where = (
            f" (state saved in {args.out or args.resume or 'the run folder'})"
            if args.command == "train"
            else ""
        )
        print(f"charrnn: interrupted{where}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (OSError, ValueError, IndexError, TypeError, RunError, CheckpointError) as err:
        print(f"charrnn: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except MemoryError as err:  # e.g. --m 10000000: the weights alone would need terabytes
        print(
            f"charrnn: error: out of memory ({err}); try a smaller --m, --seq-length or --batch",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
