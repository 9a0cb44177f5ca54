"""The `charrnn` command line: `train`, `sample`, `evaluate`, `export`, `gradcheck`, `check` and
`inspect`.
Each error a user can cause
ends with a one-line message and a non-zero exit status, never a traceback:
1 bad input or failed check, 2 bad usage, 3 training diverged, 130 interrupted (state saved)."""

from __future__ import annotations

import argparse
import json
import math
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
    """train's model and training settings (TrainConfig's)."""
    from charrnn._core import CELLS
    from charrnn.train import OPTIMIZERS, RECIPES

    # Model settings default to None so that on --resume we know which ones were given.
    # --cell and --layers are checked with the other model settings (TrainConfig), so that a bad
    # value is a one-line error (exit 1) as any other bad model setting is.
    p.add_argument(
        "--cell", help=f"recurrent cell: {', '.join(CELLS)} (default rnn, the vanilla RNN)"
    )
    p.add_argument("--layers", type=int, help="stacked layers (default 1)")
    p.add_argument("--m", type=_positive_int, help="hidden units per layer (default 100)")
    p.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        help="settings for a new gated model, each still changeable: pytorch = "
        "--embedding 64 --forget-bias 0 --optimizer adam --eta 2e-3, what a "
        "PyTorch script does (learns about twice as fast per update)",
    )
    p.add_argument(
        "--forget-bias",
        type=float,
        metavar="F",
        help="lstm: initial bias of the forget gate (default 1, char-rnn's; 0 is "
        "PyTorch's on average)",
    )
    p.add_argument(
        "--embedding",
        type=_nonnegative_int,
        metavar="D",
        help="read characters through a learnt table of D-dimensional vectors "
        "(PyTorch's nn.Embedding, torch-rnn's wordvec_size) instead of one-hot "
        "columns (default 0: one-hot; 64 learns much faster per update)",
    )
    p.add_argument("--seq-length", type=_positive_int, help="characters per update (default 25)")
    p.add_argument(
        "--eta",
        type=_positive_float,
        help="learning rate (default 0.1, AdaGrad's; try 2e-3 for rmsprop and adam)",
    )
    p.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        help="adagrad (default, the assignment's), rmsprop (char-rnn's) or adam",
    )
    p.add_argument(
        "--clip",
        type=_positive_float,
        help="clip every gradient entry to [-CLIP, CLIP] (default 5)",
    )
    p.add_argument(
        "--clip-norm",
        type=_positive_float,
        metavar="X",
        help="clip the gradient's global L2 norm to X instead (as PyTorch users do)",
    )
    p.add_argument(
        "--decay-rate",
        dest="decay",
        type=_nonnegative_float,
        help="RMSprop's decay of the mean square (default 0.95, char-rnn's)",
    )
    p.add_argument("--beta1", type=_nonnegative_float, help="Adam's beta1 (default 0.9)")
    p.add_argument("--beta2", type=_nonnegative_float, help="Adam's beta2 (default 0.999)")
    p.add_argument(
        "--sig",
        type=_nonnegative_float,
        help="rnn: initial weight std (default 0.01); lstm and gru draw from "
        "U(-1/sqrt(m), 1/sqrt(m))",
    )
    p.add_argument("--seed", type=_nonnegative_int, help="seed of weights and samples (default 0)")
    p.add_argument("--batch", type=_positive_int, help="sequences per update (default 1)")
    p.add_argument(
        "--documents",
        action="store_const",
        const=True,
        help="the file holds one document per line (names, tweets): each is learnt "
        "from a zero state and ends with the line end, which the model learns "
        "to predict",
    )
    p.add_argument(
        "--dropout",
        type=_fraction,
        metavar="P",
        help="drop each unit of each layer's output with probability P while training (default 0)",
    )
    p.add_argument(
        "--dtype", choices=["float64", "float32"], help="training precision (default float64)"
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        help="threads to train on (default: every core this process may use); the "
        "results are the same for any number",
    )


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """train's settings of the run: intervals, validation, time limit, files."""
    from charrnn.data import NEWLINE_MODES

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
        "--val-frac",
        type=_fraction,
        help="hold out the last fraction of the text, contiguous, for validation "
        "(default 0: train on all of it)",
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
        "--newline",
        choices=NEWLINE_MODES,
        help="lf (default): read CRLF and CR line ends as LF and drop a leading BOM; "
        "keep: train on the characters as stored",
    )
    p.add_argument(
        "--lr-decay",
        type=_positive_float,
        metavar="FACTOR",
        help="multiply the learning rate by FACTOR after each epoch past "
        "--lr-decay-after (default 1: no decay)",
    )
    p.add_argument(
        "--lr-decay-after",
        type=_nonnegative_int,
        metavar="EPOCHS",
        help="epochs before the decay starts (default 10)",
    )
    p.add_argument(
        "--diverge-factor",
        type=_positive_float,
        help="stop (exit 3) when the smooth loss passes this times the first loss (default 3)",
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


def _inspect(args: argparse.Namespace) -> int:
    from charrnn.inspect.command import inspect_checkpoint

    inspect_checkpoint(
        args.checkpoint,
        args.file,
        out=args.out,
        max_chars=args.max_chars,
        window=args.window,
        quiet=args.quiet,
    )
    return 0


def _add_gradcheck(sub: Any) -> None:
    from charrnn._core import CELLS
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
    g.add_argument(
        "--cell", default="rnn", help=f"recurrent cell: {', '.join(CELLS)} (default rnn)"
    )
    g.add_argument("--layers", type=int, default=1, help="stacked layers (default 1)")
    g.add_argument(
        "--m", type=_positive_int, default=100, help="hidden units per layer (default 100)"
    )
    g.add_argument(
        "--embedding",
        type=_nonnegative_int,
        default=0,
        metavar="D",
        help="an embedding of width D before the first layer (default 0: none)",
    )
    g.add_argument(
        "--seq-length", type=_positive_int, default=25, help="sequence length (default 25)"
    )
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
    g.add_argument("--seed", type=_nonnegative_int, default=0, help="weights seed (default 0)")
    g.add_argument(
        "--sig", type=_nonnegative_float, default=0.01, help="weights std (default 0.01)"
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


def _gradcheck(args: argparse.Namespace) -> int:
    from charrnn.data import load_corpus
    from charrnn.gradcheck import check_native, format_table
    from charrnn.train import TrainConfig

    TrainConfig(
        cell=args.cell, layers=args.layers, m=args.m, embedding=args.embedding
    )  # the same checks as train's
    _, vocab, encoded = load_corpus(args.file)
    if len(encoded) < args.seq_length + 1:
        raise ValueError(
            f"the text has {len(encoded)} characters; the check needs "
            f"seq_length + 1 = {args.seq_length + 1}"
        )
    report = check_native(
        encoded,
        vocab.K,
        cell=args.cell,
        layers=args.layers,
        m=args.m,
        T=args.seq_length,
        h=args.h,
        order=args.order,
        seed=args.seed,
        sig=args.sig,
        dropout=args.dropout,
        embedding=args.embedding,
    )
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0 if report["passed"] else EXIT_ERROR


CASE_OPTIONS = ("cell", "layers", "m", "seq_length", "seed", "sig")


def _check_usage(args: argparse.Namespace) -> None:
    """`check`'s two forms: --write-case CASE [FILE], or CASE GRADS (exit 2 otherwise)."""
    if args.write_case is not None:
        if len(args.files) > 1:
            args.usage_error("--write-case takes at most one text FILE")
        if args.json:
            args.usage_error("--json goes with CASE GRADS, not --write-case")
        return
    if len(args.files) != 2:
        args.usage_error("give CASE GRADS (a case and your gradients), or --write-case CASE")
    given = [name for name in CASE_OPTIONS if getattr(args, name) is not None]
    if given:
        args.usage_error(
            f"--{given[0].replace('_', '-')} goes with --write-case (the case "
            f"already holds its settings)"
        )


def _check(args: argparse.Namespace) -> int:
    from charrnn.check import check_case, write_case
    from charrnn.gradcheck import format_table

    try:
        if args.write_case is not None:
            text = None
            if args.files:
                from charrnn.data import read_text

                text = read_text(args.files[0])
            settings = {
                name: getattr(args, name)
                for name in CASE_OPTIONS
                if getattr(args, name) is not None
            }
            case = write_case(args.write_case, text=text, **settings)
            K, T = case["X"].shape
            names = list(case)[: list(case).index("X")]  # the weights come first, in layout order
            print(
                f"wrote {args.write_case}: {case['cell']} x{case['layers']}, K={K} "
                f"m={case['h0'].shape[-1]} T={T}, charrnn's loss {float(case['loss']):.12g}\n"
                f"  weights {' '.join(names)}; X, Y one-hot (K x T); x, y indices from 0; "
                f"{'h0, c0' if 'c0' in case else 'h0'}; loss\n"
                f"save your gradients (d{' d'.join(names)}, and loss) as .npz or .mat, then: "
                f"charrnn check {args.write_case} GRADS"
            )
            return 0
        report = check_case(args.files[0], args.files[1])
    except ModuleNotFoundError as err:
        if err.name != "scipy":
            raise
        raise ValueError(str(err)) from None
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0 if report["passed"] else EXIT_ERROR


def _train(args: argparse.Namespace) -> int:
    from charrnn.experiment import RunInterrupted, RunSettings, run
    from charrnn.train import RECIPES, TrainConfig

    given = {
        name: getattr(args, name)
        for name in (
            "cell",
            "layers",
            "m",
            "embedding",
            "forget_bias",
            "seq_length",
            "eta",
            "sig",
            "seed",
            "batch",
            "dtype",
            "val_frac",
            "newline",
            "diverge_factor",
            "lr_decay",
            "lr_decay_after",
            "optimizer",
            "clip",
            "clip_norm",
            "decay",
            "beta1",
            "beta2",
            "dropout",
            "documents",
            "threads",
        )
        if getattr(args, name) is not None
    }
    settings = RunSettings(
        steps=args.steps,
        epochs=args.epochs,
        sample_every=args.sample_every,
        sample_length=args.sample_length,
        passage_length=args.passage_length,
        gradcheck=not args.no_gradcheck,
        quiet=args.quiet,
        eval_every=args.eval_every,
        checkpoint_every=args.checkpoint_every,
        time_limit=args.time_limit,
        init_from=args.init_from,
        command=["charrnn", *args.argv],
    )
    if args.recipe:
        if args.resume or args.init_from:
            raise ValueError(
                f"--recipe {args.recipe} chooses a new model's settings; drop it "
                f"with {'--resume' if args.resume else '--init-from'}"
            )
        given = {**RECIPES[args.recipe], **given}
    config = None if args.resume else TrainConfig(**given)
    try:
        result = run(args.file, args.out, config, settings, resume=args.resume, overrides=given)
    except RunInterrupted as interrupted:
        _print_result(interrupted.result)
        raise
    _print_result(result)
    if args.inspect:
        from charrnn.inspect.command import inspect_checkpoint

        inspect_checkpoint(f"{result.out}/best.npz", quiet=args.quiet)
    return 0


def _print_result(result) -> None:
    """The closing lines: the training loop's time apart from the rest of the run."""
    from charrnn.losses import format_loss

    rest = [f"{result.seconds:.1f} s in all"]
    if result.gradcheck_wait >= 0.1:
        rest.append(f"{result.gradcheck_wait:.1f} s of it waiting for the gradient check")
    stopped = f" (stopped: {result.stopped})" if result.stopped else ""
    best = (
        f"best validation {format_loss(result.best_val_loss / math.log(2), 4)} bits per character"
        if result.best_val_loss is not None
        else f"best {format_loss(result.best_smooth_loss)}"
    )
    # The training curve of loss.png: the smooth loss, or (not the assignment's setup) the
    # smooth loss with its start-up bias removed.
    if result.loss_curve == "smooth":
        loss = f"smooth loss {format_loss(result.smooth_loss)} ({best})"
    else:
        loss = (
            f"training loss {format_loss(result.debiased_loss)} (debiased average; smooth "
            f"loss {format_loss(result.smooth_loss)}), {best}"
        )
    print(
        f"{result.steps_run:,} updates in {result.train_seconds:.1f} s of training "
        f"({'; '.join(rest)}){stopped}; step {result.step:,}, {loss}"
    )
    print(f"wrote {result.out}/: {', '.join(result.files)}")


def _load_model(checkpoint: str):
    from pathlib import Path

    from charrnn.model import Model

    path = Path(checkpoint)
    return Model.load(path / "best.npz" if path.is_dir() else path)


def _evaluate(args: argparse.Namespace) -> int:
    from charrnn.data import read_text
    from charrnn.losses import format_loss

    model = _load_model(args.checkpoint)
    result = model.evaluate(read_text(args.file), documents=args.documents, threads=args.threads)
    if args.json:
        print(json.dumps(result))
    else:
        where = f" in {result['documents']:,} documents" if args.documents else ""
        print(
            f"{result['chars']:,} predictions{where}: "
            f"{format_loss(result['nats_per_char'], 4)} nats = "
            f"{format_loss(result['bits_per_char'], 4)} bits per character, perplexity "
            f"{format_loss(result['perplexity'])}"
        )
    return 0


def _export(args: argparse.Namespace) -> int:
    _load_model(args.checkpoint).export(args.out, format=args.format)
    print(f"wrote {args.out}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from pathlib import Path

    from charrnn.data import read_text

    model = _load_model(args.checkpoint)
    prime = read_text(args.prime_file) if args.prime_file else args.prime
    documents = dict(
        max_length=args.max_length,
        temperature=args.temperature,
        top_p=args.top_p,
        seed=args.seed,
        greedy=args.greedy,
    )
    if args.documents is not None:
        if prime is not None:
            raise ValueError("--documents starts each document afresh: drop --prime/--prime-file")
        text = "\n".join(model.sample_documents(args.documents, **documents))
    elif model.documents and prime is None:  # a model of documents writes documents
        text = "\n".join(model.sample_documents(chars=args.n, **documents))
    else:
        text = model.sample(
            args.n,
            prime=prime,
            temperature=args.temperature,
            top_p=args.top_p,
            seed=args.seed,
            greedy=args.greedy,
        )
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv  # for the run's report
    if args.command == "check":
        _check_usage(args)
    from charrnn.checkpoint import CheckpointError
    from charrnn.experiment import RunError
    from charrnn.train import TrainingDiverged

    command = {
        "train": _train,
        "sample": _sample,
        "evaluate": _evaluate,
        "export": _export,
        "gradcheck": _gradcheck,
        "check": _check,
        "inspect": _inspect,
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
