"""What each `charrnn` command does once its arguments are parsed (cli.py parses them and turns
errors into one-line messages and exit statuses): train, sample, evaluate, export, gradcheck,
check and inspect, each a function of the parsed arguments returning the exit status.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from charrnn.cli import EXIT_ERROR, TRAIN_OPTIONS


def gradcheck(args: argparse.Namespace) -> int:
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


def check_usage(args: argparse.Namespace) -> None:
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


def check(args: argparse.Namespace) -> int:
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


def train(args: argparse.Namespace) -> int:
    from charrnn.experiment import RunInterrupted, RunSettings, run
    from charrnn.train import RECIPES, TrainConfig

    given = {name: getattr(args, name) for name in TRAIN_OPTIONS if getattr(args, name) is not None}
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
        print_result(interrupted.result)
        raise
    print_result(result)
    if args.inspect:
        from charrnn.inspect.command import inspect_checkpoint

        inspect_checkpoint(f"{result.out}/best.npz", quiet=args.quiet)
    return 0


def print_result(result) -> None:
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


def load_model(checkpoint: str):
    from pathlib import Path

    from charrnn.model import Model

    path = Path(checkpoint)
    return Model.load(path / "best.npz" if path.is_dir() else path)


def evaluate(args: argparse.Namespace) -> int:
    from charrnn.data import read_text
    from charrnn.losses import format_loss

    model = load_model(args.checkpoint)
    result = model.evaluate(read_text(args.file), documents=args.documents, threads=args.threads)
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        where = f" in {result.documents:,} documents" if args.documents else ""
        print(
            f"{result.characters:,} predictions{where}: "
            f"{format_loss(result.nats, 4)} nats = "
            f"{format_loss(result.bits, 4)} bits per character, perplexity "
            f"{format_loss(result.perplexity)}"
        )
    return 0


def export(args: argparse.Namespace) -> int:
    load_model(args.checkpoint).export(args.out, format=args.format)
    print(f"wrote {args.out}")
    return 0


def sample(args: argparse.Namespace) -> int:
    from pathlib import Path

    from charrnn.data import read_text

    model = load_model(args.checkpoint)
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


def inspect(args: argparse.Namespace) -> int:
    from charrnn.inspect.command import inspect_checkpoint  # the page: charrnn/inspect/

    inspect_checkpoint(
        args.checkpoint,
        args.file,
        out=args.out,
        max_chars=args.max_chars,
        window=args.window,
        quiet=args.quiet,
    )
    return 0
