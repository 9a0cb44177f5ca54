"""`charrnn sweep`: its options and what it does. The settings come from the command line or a
TOML file, are checked and expanded (space.py), written to the sweep folder (sweep.json, so that
--resume runs the same trials), run by a runner (local.py, or ray_runner.py with --ray), and
summed up (results.py).

Not here: the other commands (charrnn.cli).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from charrnn.sweep.space import (
    SWEEP_KEYS,
    Sweep,
    SweepError,
    default_out,
    describe,
    expand,
    from_toml,
    parse_grid,
    parse_seeds,
    parse_value,
    resolve_cli_corpus,
    setting_names,
    varying,
)

SPEC = "sweep.json"
EXIT_USAGE, EXIT_INTERRUPTED = 2, 130


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `charrnn sweep`: the sweep's, then every TrainConfig setting as a fixed
    value (--cell lstm, --val-frac 0.1, ...)."""
    p.add_argument(
        "source",
        nargs="?",
        metavar="SWEEP.toml | TEXT",
        help="a sweep file ([sweep] [fixed] [params]), or the text every trial trains on "
        "(default: the embedded corpus)",
    )
    s = p.add_argument_group("the sweep")
    s.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="a setting's values, each in its own trials (repeat for a grid); NAME is any "
        "TrainConfig setting, or corpus (texts)",
    )
    s.add_argument("--seeds", help="seeds of every setting: A:B (A to B-1) or a comma list")
    s.add_argument(
        "--samples",
        type=int,
        metavar="N",
        help="draw N random points (a TOML list is then a choice; "
        "{uniform|loguniform|range = [low, high]} a distribution)",
    )
    s.add_argument("--steps", type=int, help=f"updates per trial (default {Sweep.steps})")
    s.add_argument(
        "--eval-every",
        type=int,
        metavar="N",
        help="updates between validation passes and checkpoints (default steps / 20)",
    )
    s.add_argument("--out", help="the sweep's folder (default sweeps/DATE-TIME)")
    s.add_argument(
        "--jobs",
        type=int,
        help="trials at a time on this machine (default: one per two cores)",
    )
    s.add_argument(
        "--threads",
        type=int,
        help="threads (Ray: CPUs) per trial (default: the cores divided by --jobs); the "
        "results are the same for any number",
    )
    s.add_argument("--dry-run", action="store_true", help="print the trials and their count")
    s.add_argument("--resume", metavar="DIR", help="finish the sweep in DIR")
    r = p.add_argument_group("Ray Tune (pip install 'charrnn[ray]')")
    r.add_argument("--ray", action="store_true", help="run the trials on Ray Tune")
    r.add_argument(
        "--address",
        metavar="HOST:PORT",
        help="a running Ray cluster (default: RAY_ADDRESS, else a new local Ray)",
    )
    r.add_argument(
        "--storage",
        metavar="DIR",
        help="a folder every node can write (shared), for Ray's results, checkpoints and the "
        "trials' folders (default: the sweep's folder)",
    )
    r.add_argument("--early-stop", action="store_true", help="stop poor trials early (ASHA)")
    r.add_argument(
        "--grace",
        type=int,
        metavar="UPDATES",
        help="updates before ASHA may stop a trial (default steps / 8)",
    )
    f = p.add_argument_group("fixed settings of every trial (TrainConfig's)")
    for name in setting_names():  # threads is the sweep's own option, not a setting here
        f.add_argument(f"--{name.replace('_', '-')}", dest=f"fixed_{name}", metavar="VALUE")


def main(args: argparse.Namespace) -> int:
    """Run `charrnn sweep`; a SweepError is one line on stderr and exit status 2."""
    try:
        return _main(args)
    except SweepError as err:
        print(f"charrnn: error: {err}", file=sys.stderr)
        return EXIT_USAGE


def build(args: argparse.Namespace) -> Sweep:
    """The Sweep the command line describes (a TOML file, then the options over it)."""
    source = args.source
    if source is not None and source.endswith(".toml"):
        sweep = from_toml(source, samples=args.samples)
        cli_corpus = None
    else:
        sweep = Sweep(samples=args.samples)
        cli_corpus = source
    for key in SWEEP_KEYS:
        value = getattr(args, key, None)
        if key in ("ray", "early_stop", "dry_run"):
            if value:
                setattr(sweep, key, True)
        elif key == "seeds" and value is not None:
            sweep.seeds = parse_seeds(value)
        elif value is not None:
            setattr(sweep, key, value)
    cli = Sweep()
    for name in setting_names():
        value = getattr(args, f"fixed_{name}", None)
        if value is not None:
            cli.fixed[name] = parse_value(name, value)
    if cli_corpus is not None:
        cli.fixed["corpus"] = cli_corpus
    for text in args.grid:
        name, grid = parse_grid(text)
        cli.params[name] = grid
    resolve_cli_corpus(cli)
    for name in cli.fixed:
        sweep.params.pop(name, None)
    for name in cli.params:
        sweep.fixed.pop(name, None)
    sweep.fixed.update(cli.fixed)
    sweep.params.update(cli.params)
    if sweep.out is None:
        sweep.out = default_out()
    return sweep


def _cores() -> int:
    from charrnn.machine import available_cores

    return available_cores()


def _main(args: argparse.Namespace) -> int:
    if args.resume is not None:
        return _resume(args)
    sweep = build(args)
    trials = expand(sweep)
    jobs = sweep.jobs or max(1, _cores() // 2)
    threads = sweep.threads or max(1, _cores() // jobs)
    names = varying(trials)
    if args.dry_run:
        for trial in trials:
            print(f"{trial['id']}  {describe(trial['settings'], names or ['seed'])}")
        where = "Ray" if sweep.ray else f"{min(jobs, len(trials))} at a time"
        print(
            f"{len(trials)} trials of {sweep.steps:,} updates ({where}, {threads} threads "
            f"each); varying: {', '.join(names) or 'nothing'}"
        )
        return 0
    assert sweep.out is not None  # set above when not given
    out = Path(sweep.out)
    if (out / SPEC).exists():
        raise SweepError(
            f"{str(out)!r} already holds a sweep; finish it with --resume {out}, or choose "
            f"another --out"
        )
    storage = None
    if sweep.ray:
        from charrnn.sweep import ray_runner

        ray_runner.import_ray()
        storage = ray_runner.check_storage(sweep.storage or str(out / "ray"))
        if sweep.address or os.environ.get("RAY_ADDRESS"):
            ray_runner.check_address(sweep.address or os.environ["RAY_ADDRESS"])
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SweepError(f"--out {out}: cannot make it ({err.strerror or err})") from None
    name = out.resolve().name
    spec = {
        "trials": trials,
        "run": {"steps": sweep.steps, "every": sweep.every, "report_seconds": sweep.report_seconds},
        "runner": "ray" if sweep.ray else "local",
        "jobs": sweep.jobs,
        "threads": threads,
        "root": str(
            (storage / name / "trials") if sweep.storage and storage else (out / "trials").resolve()
        ),
        "storage": str(storage) if storage else None,
        "name": name,
        "address": sweep.address,
        "early_stop": (
            {"grace": sweep.grace_steps, "reduction_factor": sweep.reduction_factor}
            if sweep.early_stop
            else None
        ),
        "command": ["charrnn", "sweep", *getattr(args, "argv", [])[1:]],
        "sweep": {k: v for k, v in dataclasses.asdict(sweep).items() if k != "params"},
    }
    (out / SPEC).write_text(json.dumps(spec, indent=1, default=str) + "\n")
    return _run(out, spec, jobs, resume=False)


def _resume(args: argparse.Namespace) -> int:
    given = [a for a in ("source", "seeds", "samples", "steps", "out") if getattr(args, a)]
    if given or args.grid:
        raise SweepError(
            "--resume runs the sweep as it was set up; drop "
            + (f"--{given[0]}" if given else "--grid")
        )
    out = Path(args.resume)
    try:
        spec = json.loads((out / SPEC).read_text())
    except OSError:
        raise SweepError(f"--resume {out}: no sweep there ({SPEC} is missing)") from None
    jobs = args.jobs or spec.get("jobs") or max(1, _cores() // 2)
    if args.threads:
        spec["threads"] = args.threads
    return _run(out, spec, jobs, resume=True)


def _run(out: Path, spec: dict[str, Any], jobs: int, resume: bool) -> int:
    from charrnn.sweep import results

    trials, root = spec["trials"], Path(spec["root"])
    t0 = time.perf_counter()
    if spec["runner"] == "ray":
        from charrnn.sweep import ray_runner

        records, complete, started = ray_runner.run_ray(
            trials,
            root,
            spec["run"],
            spec["threads"],
            Path(spec["storage"]),
            spec["name"],
            spec.get("address"),
            spec.get("jobs"),
            spec.get("early_stop"),
            resume,
        )
        print(f"Ray started in {started:.1f} s", file=sys.stderr)
    else:
        records, complete = _run_local(trials, root, spec, jobs)
    wall = time.perf_counter() - t0
    print(results.finish(out, trials, records, spec["run"]["steps"]))
    print(f"{wall:.1f} s of wall time")
    if not complete:
        print(
            f"charrnn: sweep interrupted: "
            f"{sum(r['status'] in ('done', 'stopped early', 'failed') for r in records)} of "
            f"{len(trials)} trials finished; continue with: charrnn sweep --resume {out}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 0


def _run_local(
    trials: list[dict[str, Any]], root: Path, spec: dict[str, Any], jobs: int
) -> tuple[list[dict[str, Any]], bool]:
    from tqdm import tqdm

    from charrnn.sweep import local
    from charrnn.sweep import trial as trial_mod

    root.mkdir(parents=True, exist_ok=True)
    records = {t["id"]: trial_mod.read_record(root / t["id"]) for t in trials}
    finished = sum(r.get("status") in trial_mod.FINISHED for r in records.values())
    bar = tqdm(total=len(trials), initial=finished, unit="trial", desc="sweep", dynamic_ncols=True)

    def on_done(record: dict[str, Any]) -> None:
        records[record["id"]] = record
        if record["status"] in trial_mod.FINISHED:
            bar.update(1)
        if record["status"] == trial_mod.FAILED:
            bar.write(f"{record['id']} failed: {record['message']}", file=sys.stderr)
        scored = [r for r in records.values() if r.get("bits") is not None]
        if scored:
            bar.set_postfix(best=f"{min(r['bits'] for r in scored):.4f}")

    try:
        complete = local.run_local(trials, root, spec["run"], jobs, spec["threads"], on_done)
    finally:
        bar.close()
    out = []
    for t in trials:
        record = records[t["id"]]
        if record.get("id") != t["id"]:
            record = trial_mod.make_record(t, root / t["id"], trial_mod.PENDING)
        out.append(record)
    return out, complete
