"""Every training default is written once, in TrainConfig (charrnn.config): the command line's
options are generated from its fields, and these tests keep the other places that state a
default equal to it: docs/training.md's tables, the native Trainer's keyword defaults (as the
stub generated from the bindings declares them) and the numpy reference's training loop."""

import ast
import dataclasses
import inspect
import re
from pathlib import Path

import pytest
from charrnn import reference
from charrnn.cli import TRAIN_OPTIONS, build_parser
from charrnn.config import TrainConfig, field_docs

ROOT = Path(__file__).resolve().parents[1]
FIELDS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
# The same setting under another name: the native core and the reference call clip's limit
# `clip`, the dropout masks' seed `dropout_seed` (TrainConfig.seed seeds them too).
NATIVE_NAMES = {"dropout_seed": "seed"}


def _subparser(name: str):
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices[name]


def test_every_setting_has_a_documented_field_and_a_train_option():
    docs = field_docs()
    assert set(docs) == set(FIELDS), "every TrainConfig field needs a docstring"
    assert set(TRAIN_OPTIONS) == set(FIELDS), "every TrainConfig field needs a CLI entry"
    train = _subparser("train")
    by_dest = {a.dest: a for a in train._actions}
    for name in FIELDS:
        action = by_dest[name]
        assert action.default is None, f"--{name}'s default must come from TrainConfig"
        assert " ".join(docs[name].split()) in action.help


def test_no_option_given_is_the_default_config():
    args = build_parser().parse_args(["train"])
    given = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    assert given == {}


@pytest.mark.parametrize(
    "argv,expected",
    [
        (["--decay-rate", "0.9"], {"decay": 0.9}),
        (["--clip-norm", "1", "--eps", "1e-6"], {"clip_norm": 1.0, "eps": 1e-6}),
        (["--documents", "--threads", "2"], {"documents": True, "threads": 2}),
        (["--cell", "lstm", "--layers", "2", "--m", "7"], {"cell": "lstm", "layers": 2, "m": 7}),
    ],
)
def test_train_options_reach_their_fields(argv, expected):
    args = build_parser().parse_args(["train", *argv])
    given = {name: getattr(args, name) for name in FIELDS if getattr(args, name) is not None}
    assert given == expected


def test_gradcheck_defaults_are_trainconfigs():
    gradcheck = _subparser("gradcheck")
    shared = [a for a in gradcheck._actions if a.dest in FIELDS]
    assert {a.dest for a in shared} >= {"cell", "layers", "m", "embedding", "seq_length", "seed"}
    for action in shared:
        assert action.default == FIELDS[action.dest], action.dest


def _stub_defaults(cls: str) -> dict[str, object]:
    tree = ast.parse((ROOT / "python" / "charrnn" / "_core.pyi").read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    init = next(n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    args = init.args.args + init.args.kwonlyargs
    defaults = [None] * (len(init.args.args) - len(init.args.defaults)) + init.args.defaults
    defaults += init.args.kw_defaults
    return {a.arg: ast.literal_eval(d) for a, d in zip(args, defaults) if d is not None}


@pytest.mark.parametrize("cls", ["Trainer", "Trainer32"])
def test_native_defaults_are_trainconfigs(cls):
    defaults = _stub_defaults(cls)
    compared = 0
    for name, value in defaults.items():
        field = NATIVE_NAMES.get(name, name)
        if field in FIELDS and FIELDS[field] is not None:
            assert value == FIELDS[field], (
                f"{cls}({name}={value!r}) but TrainConfig has {FIELDS[field]!r}"
            )
            compared += 1
    assert compared >= 10


def test_reference_defaults_are_trainconfigs():
    compared = 0
    for name, p in inspect.signature(reference.train).parameters.items():
        field = {"limit": "clip", **NATIVE_NAMES}.get(name, name)
        if p.default is not inspect.Parameter.empty and field in FIELDS:
            assert p.default == FIELDS[field], name
            compared += 1
    assert compared >= 10


def _docs_rows() -> list[tuple[str, str]]:
    """(default, config) cells of docs/training.md's option tables."""
    rows = []
    for line in (ROOT / "docs" / "training.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].startswith("`--"):
            rows.append((cells[1], cells[3]))
    return rows


def _documented(default: str) -> list[object]:
    words = {"off": None, "every core": None, "none": None}
    out = []
    for part in default.split(","):
        part = re.sub(r"\(.*?\)", "", part).strip().strip("`")
        if part in words:
            out.append(words[part])
        else:
            try:
                out.append(ast.literal_eval(part))
            except (ValueError, SyntaxError):
                out.append(part)
    return out


def test_the_docs_tables_state_trainconfigs_defaults():
    checked = set()
    for default, config in _docs_rows():
        names = re.findall(r"`(\w+)`", config)
        names = [n for n in names if n in FIELDS]
        if not names:
            continue
        values = _documented(default)
        for name, value in zip(names, values):
            want = FIELDS[name]
            if want is None or want is False or (name == "clip_norm" and want == 0):
                assert value is None, f"docs/training.md: {name} defaults to {default!r}"
            else:
                assert value == want, (
                    f"docs/training.md: {name} defaults to {default!r}, not {want!r}"
                )
            checked.add(name)
    missing = set(FIELDS) - checked - {"eps", "val_frac"}
    assert not missing, f"docs/training.md's tables lack {sorted(missing)}"
