"""A sweep's settings and its search space: what `charrnn sweep` reads from the command line or a
TOML file ([sweep], [fixed], [params]), checked before anything starts, and expanded into
trials, each a complete set of TrainConfig settings plus the text it trains on ("corpus").

Not here: running the trials (local.py, ray_runner.py) or their files (results.py).
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from charrnn.config import TrainConfig, defaults

# Settings of the sweep itself ([sweep] in a TOML file; the same names as the options).
SWEEP_KEYS = (
    "steps",
    "seeds",
    "samples",
    "sample_seed",
    "eval_every",
    "out",
    "jobs",
    "threads",
    "ray",
    "address",
    "storage",
    "early_stop",
    "grace",
    "reduction_factor",
    "report_seconds",
)
CORPUS = "corpus"  # the text a trial trains on: a path, or None for the embedded corpus
DEFAULT_STEPS = 5000


class SweepError(ValueError):
    """A sweep that cannot start: one line saying why (the command line prints it, exit 2)."""


def _config_fields() -> dict[str, Any]:
    """TrainConfig's fields and their defaults; the keys a trial may set (threads excepted:
    the runner sets it from the cores each trial gets)."""
    return {name: value for name, value in defaults().items() if name != "threads"}


def setting_names() -> list[str]:
    """Every key [fixed] and [params] accept."""
    return [*_config_fields(), CORPUS]


# --- the search space -----------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """Every value, each in its own trials (a comma list on the command line, a list in TOML;
    with --samples, a TOML list is a Choice instead, and {grid = [...]} stays a grid)."""

    values: tuple


@dataclass(frozen=True)
class Choice:
    """One of the values, drawn uniformly for each random point (--samples)."""

    values: tuple


@dataclass(frozen=True)
class Uniform:
    """A number drawn uniformly from [low, high]; log: its logarithm is (loguniform)."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Range:
    """A whole number drawn uniformly from low, low + 1, ..., high - 1 (as Python's range)."""

    low: int
    high: int


DISTRIBUTIONS = ("grid", "choice", "uniform", "loguniform", "range")


def parse_value(name: str, value: Any) -> Any:
    """A value of setting `name` from the command line (a string) or TOML, as TrainConfig
    wants it: bools from true/false, whole numbers for int settings, floats for float ones."""
    if name == CORPUS:
        if value is None or value == "":
            return None
        if not isinstance(value, (str, os.PathLike)):
            raise SweepError(f"{name}: expected a file name, got {value!r}")
        return str(value)
    default = _config_fields()[name]
    kind = type(default)
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        try:
            if kind is bool:
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return text.lower() in ("true", "1", "yes")
            if kind is int:
                return int(text)
            return float(text)
        except ValueError:
            raise SweepError(
                f"{name}: expected {'true or false' if kind is bool else kind.__name__}, "
                f"got {value!r}"
            ) from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _check_name(name: str, where: str) -> None:
    if name not in setting_names():
        hint = ""
        if name == "threads":
            hint = " (each trial's threads come from --jobs, or --threads of the sweep)"
        elif name.replace("-", "_") in setting_names():
            hint = f" (write it {name.replace('-', '_')})"
        raise SweepError(
            f"{where}: unknown setting {name!r}{hint}; known: {', '.join(setting_names())}"
        )


def parse_param(name: str, value: Any, samples: bool) -> Grid | Choice | Uniform | Range:
    """One [params] entry of a TOML file: a list (a grid; with --samples a choice), or a table
    {grid|choice|uniform|loguniform|range = [...]}; a single value is a one-value grid."""
    where = f"params.{name}"
    if isinstance(value, dict):
        if len(value) != 1 or next(iter(value)) not in DISTRIBUTIONS:
            raise SweepError(
                f"{where}: expected one of {{{' | '.join(DISTRIBUTIONS)} = [...]}}, got {value!r}"
            )
        kind, args = next(iter(value.items()))
        if not isinstance(args, list):
            raise SweepError(f"{where}: {kind} takes a list, got {args!r}")
        if kind in ("grid", "choice"):
            values = _values(name, args, where)
            return Grid(values) if kind == "grid" else Choice(values)
        if len(args) != 2 or not all(
            isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a)
            for a in args
        ):
            raise SweepError(f"{where}: {kind} takes [low, high], two numbers, got {args!r}")
        low, high = args
        if kind == "range":
            if not all(isinstance(a, int) for a in args):
                raise SweepError(f"{where}: range takes two whole numbers, got {args!r}")
            if low >= high:
                raise SweepError(f"{where}: range [{low}, {high}] is empty (low must be < high)")
            return Range(low, high)
        if low > high:
            raise SweepError(f"{where}: {kind} [{low}, {high}] has low > high")
        if kind == "loguniform" and low <= 0:
            raise SweepError(f"{where}: loguniform needs low > 0, got {low}")
        return Uniform(float(low), float(high), log=kind == "loguniform")
    if isinstance(value, list):
        values = _values(name, value, where)
        return Choice(values) if samples else Grid(values)
    return Grid(_values(name, [value], where))


def parse_grid(text: str) -> tuple[str, Grid]:
    """--grid NAME=V1,V2,...: a grid over the comma list."""
    name, sep, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or not name:
        raise SweepError(f"--grid {text!r}: expected NAME=V1,V2,... (e.g. m=64,128)")
    _check_name(name, f"--grid {text}")
    items = [v.strip() for v in values.split(",")] if values.strip() else []
    if not items or any(v == "" for v in items):
        raise SweepError(f"--grid {text!r}: an empty value; give NAME=V1,V2,...")
    return name, Grid(_values(name, items, f"--grid {name}"))


def _values(name: str, values: list, where: str) -> tuple:
    _check_name(name, where)
    if not values:
        raise SweepError(f"{where}: an empty list (give at least one value)")
    parsed = tuple(parse_value(name, v) for v in values)
    if len(set(map(repr, parsed))) != len(parsed):
        raise SweepError(f"{where}: a value appears twice in {list(values)!r}")
    return parsed


def parse_seeds(value: Any) -> list[int]:
    """--seeds A:B (A, A+1, ..., B-1), a comma list, or one seed; in TOML also a list."""
    try:
        if isinstance(value, list):
            seeds = [int(v) for v in value]
            if any(isinstance(v, bool) or int(v) != v for v in value):
                raise ValueError
        elif isinstance(value, int) and not isinstance(value, bool):
            seeds = [value]
        elif isinstance(value, str) and ":" in value:
            a, b = value.split(":")
            seeds = list(range(int(a), int(b)))
        elif isinstance(value, str):
            seeds = [int(v) for v in value.split(",")]
        else:
            raise ValueError
    except ValueError:
        raise SweepError(
            f"seeds: expected A:B (seeds A to B-1), a comma list or a list, got {value!r}"
        ) from None
    if not seeds:
        raise SweepError(f"seeds: {value!r} holds no seed (A:B needs A < B)")
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise SweepError(f"seeds: expected distinct whole numbers >= 0, got {value!r}")
    return seeds


# --- a sweep --------------------------------------------------------------------------------


@dataclass
class Sweep:
    """What to run: fixed settings, the search space, seeds, and how (the runner's options)."""

    fixed: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Grid | Choice | Uniform | Range] = field(default_factory=dict)
    seeds: list[int] | None = None
    samples: int | None = None  # random points; None: the grid only
    sample_seed: int = 0  # of the random points, so that they are the same on every run
    steps: int = DEFAULT_STEPS  # updates per trial
    eval_every: int | None = None  # updates between validation passes (default steps // 20)
    out: str | None = None
    jobs: int | None = None  # trials at a time (local); default one per two cores
    threads: int | None = None  # per trial; default the cores / jobs
    ray: bool = False
    address: str | None = None
    storage: str | None = None
    early_stop: bool = False
    grace: int | None = None  # updates before ASHA may stop a trial (default steps // 8)
    reduction_factor: float = 3.0
    report_seconds: float = 2.0  # Ray: at most one report (and checkpoint) per this much time

    def check(self) -> None:
        """SweepError for settings out of range, before anything starts."""
        for name in ("steps", "samples", "eval_every", "jobs", "threads", "grace"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise SweepError(f"{name} must be a whole number >= 1, got {value!r}")
        if not (isinstance(self.reduction_factor, (int, float)) and self.reduction_factor > 1):
            raise SweepError(f"reduction_factor must be > 1, got {self.reduction_factor!r}")
        if self.early_stop and not self.ray:
            raise SweepError("--early-stop (ASHA) needs --ray")
        if (self.address or self.storage) and not self.ray:
            raise SweepError("--address and --storage go with --ray")
        if self.seeds is not None and "seed" in self.params:
            raise SweepError("give the seeds once: --seeds (seeds in [sweep]) or seed in [params]")
        random = [n for n, p in self.params.items() if isinstance(p, (Uniform, Range, Choice))]
        if random and self.samples is None:
            raise SweepError(
                f"params.{random[0]} is drawn at random: give --samples N (random points)"
            )

    @property
    def every(self) -> int:
        return self.eval_every if self.eval_every is not None else max(1, self.steps // 20)

    @property
    def grace_steps(self) -> int:
        return self.grace if self.grace is not None else max(1, self.steps // 8)


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict (tomllib on Python 3.11+, else the tomli package)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python < 3.11
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise SweepError(
                "reading a TOML sweep file needs Python 3.11 or the tomli package: "
                "pip install tomli"
            ) from None
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as err:
        raise SweepError(f"cannot read {str(path)!r}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise SweepError(f"{path}: not valid TOML: {err}") from None


def from_toml(path: str | Path, samples: int | None = None) -> Sweep:
    """A Sweep from a TOML file; relative corpus paths are read from the file's folder.
    `samples` (--samples) decides whether lists are grids or choices, as [sweep] samples does."""
    data = read_toml(path)
    unknown = set(data) - {"sweep", "fixed", "params"}
    if unknown:
        raise SweepError(
            f"{path}: unknown table [{sorted(unknown)[0]}]; use [sweep] [fixed] [params]"
        )
    head = data.get("sweep", {})
    for key in head:
        if key not in SWEEP_KEYS:
            raise SweepError(f"{path}: unknown key sweep.{key}; known: {', '.join(SWEEP_KEYS)}")
    sweep = Sweep()
    for key, value in head.items():
        if key == "seeds":
            sweep.seeds = parse_seeds(value)
        else:
            setattr(sweep, key, value)
    if samples is not None:
        sweep.samples = samples
    base = Path(path).parent
    for key, value in data.get("fixed", {}).items():
        _check_name(key, f"fixed.{key}")
        if isinstance(value, (list, dict)):
            raise SweepError(f"fixed.{key}: a single value (put lists under [params])")
        sweep.fixed[key] = parse_value(key, value)
    for key, value in data.get("params", {}).items():
        sweep.params[key] = parse_param(key, value, samples=sweep.samples is not None)
    _resolve_corpus(sweep, base)
    return sweep


def _resolve_corpus(sweep: Sweep, base: Path) -> None:
    """Make corpus paths absolute (trials run in other folders, Ray's on other machines)."""

    def resolve(value: str | None) -> str | None:
        return None if value is None else str((base / value).resolve())

    if CORPUS in sweep.fixed:
        sweep.fixed[CORPUS] = resolve(sweep.fixed[CORPUS])
    param = sweep.params.get(CORPUS)
    if isinstance(param, (Grid, Choice)):
        sweep.params[CORPUS] = type(param)(tuple(resolve(v) for v in param.values))


def resolve_cli_corpus(sweep: Sweep) -> None:
    """Corpus paths given on the command line, relative to the current folder."""
    _resolve_corpus(sweep, Path.cwd())


# --- trials ---------------------------------------------------------------------------------


def expand(sweep: Sweep) -> list[dict[str, Any]]:
    """The trials: [{'id': 't003', 'settings': {...}}], every grid point (crossed with each
    random point when --samples), each with every seed, the seeds innermost. Each trial's
    settings are checked by TrainConfig and its text must exist (SweepError otherwise)."""
    sweep.check()
    grids = {n: p.values for n, p in sweep.params.items() if isinstance(p, Grid)}
    randoms = {n: p for n, p in sweep.params.items() if not isinstance(p, Grid)}
    rng = np.random.default_rng(sweep.sample_seed)
    draws: list[dict[str, Any]] = [{}]
    if sweep.samples is not None:
        draws = [{n: _draw(p, rng) for n, p in randoms.items()} for _ in range(sweep.samples)]
    seeds = sweep.seeds if sweep.seeds is not None else [None]
    settings_list = []
    for point in itertools.product(*grids.values()):
        for draw in draws:
            for seed in seeds:
                settings = {**sweep.fixed, **dict(zip(grids, point)), **draw}
                if seed is not None:
                    settings["seed"] = seed
                settings.setdefault("seed", sweep.fixed.get("seed", 0))
                settings.setdefault(CORPUS, None)
                settings_list.append(settings)
    width = max(3, len(str(len(settings_list) - 1)))
    trials = [{"id": f"t{i:0{width}d}", "settings": s} for i, s in enumerate(settings_list)]
    checked_texts: set = set()
    for trial in trials:
        check_trial(trial, checked_texts)
    return trials


def _draw(param: Choice | Uniform | Range, rng: np.random.Generator) -> Any:
    if isinstance(param, Choice):
        return param.values[int(rng.integers(len(param.values)))]
    if isinstance(param, Range):
        return int(rng.integers(param.low, param.high))
    if param.log:
        value = math.exp(rng.uniform(math.log(param.low), math.log(param.high)))
    else:
        value = rng.uniform(param.low, param.high)
    return float(f"{value:.4g}")  # short enough for a table, and the same when read back


def check_trial(trial: dict[str, Any], checked_texts: set | None = None) -> TrainConfig:
    """The trial's TrainConfig; SweepError for a bad setting or a text that is not there."""
    settings = dict(trial["settings"])
    corpus = settings.pop(CORPUS, None)
    try:
        config = TrainConfig(**settings)
    except (TypeError, ValueError) as err:
        raise SweepError(f"trial {trial['id']} ({describe(trial['settings'])}): {err}") from None
    if corpus is not None and (checked_texts is None or corpus not in checked_texts):
        if not os.path.isfile(corpus):
            raise SweepError(f"corpus: no such text file: {corpus!r}")
        if not os.access(corpus, os.R_OK):
            raise SweepError(f"corpus: cannot read {corpus!r}")
        if checked_texts is not None:
            checked_texts.add(corpus)
    return config


def varying(trials: list[dict[str, Any]]) -> list[str]:
    """The settings that differ between trials, in the order they first appear."""
    names: list[str] = []
    for trial in trials:
        for name in trial["settings"]:
            if name not in names:
                names.append(name)
    return [n for n in names if len({repr(t["settings"].get(n)) for t in trials}) > 1]


def show(name: str, value: Any) -> str:
    """A setting's value for a table: a text by its file name, numbers short."""
    if name == CORPUS:
        return "(embedded)" if value is None else Path(value).name
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def describe(settings: dict[str, Any], names: list[str] | None = None) -> str:
    names = list(settings) if names is None else names
    return " ".join(f"{n}={show(n, settings.get(n))}" for n in names)


def default_out() -> str:
    return str(Path("sweeps") / time.strftime("%Y%m%d-%H%M%S"))
