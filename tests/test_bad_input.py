"""Bad input, case by case: every mistake a user can make with a file, an option, an array, a
model spec (cell, layers, sizes) or a checkpoint of any cell gets the right Python exception (API)
or a non-zero exit status with a one-line `charrnn ...: error: ...` message and no traceback
(CLI), never a crash or a hang.
Not here: random inputs (test_fuzz.py) or killed processes (test_faults.py)."""

import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from charrnn import (
    CheckpointError,
    Model,
    Params,
    Params32,
    TrainConfig,
    Trainer,
    _core,
    adagrad_step,
    checkpoint,
    clip_gradients,
    evaluate,
    forward_backward,
    loss,
    read_text,
    sample,
)

TEXT = "the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n" * 8
FAST = [
    "--m",
    "8",
    "--seq-length",
    "5",
    "--steps",
    "40",
    "--quiet",
    "--no-gradcheck",
    "--sample-every",
    "20",
    "--sample-length",
    "10",
    "--passage-length",
    "10",
]
SANITIZED = bool(os.environ.get("CHARRNN_SANITIZE"))  # tools/sanitize.sh: no subprocess CLIs


# --- files and checkpoints the cases use ------------------------------------------------------


def _save_raw(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "good.txt").write_text(TEXT, encoding="utf-8")
    (d / "other.txt").write_text(TEXT.upper(), encoding="utf-8")
    (d / "empty.txt").write_bytes(b"")
    (d / "short.txt").write_text("abc", encoding="utf-8")
    (d / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (d / "latin1.txt").write_bytes("café crème brûlée ".encode("latin-1") * 20)
    (d / "single.txt").write_text("a" * 300, encoding="utf-8")
    (d / "one.txt").write_text("t", encoding="utf-8")
    (d / "folder").mkdir()
    trainer = Trainer(TEXT, TrainConfig(m=8, seq_length=5))
    trainer.train(30)
    trainer.save(d / "last.npz")
    trainer.save(d / "best.npz", kind="best")
    raw = (d / "last.npz").read_bytes()
    (d / "truncated.npz").write_bytes(raw[: len(raw) // 2])
    (d / "header_only.npz").write_bytes(raw[:30])
    corrupt = bytearray(raw)
    for i in range(200, len(corrupt), 97):
        corrupt[i] ^= 0x5A
    (d / "corrupt.npz").write_bytes(bytes(corrupt))
    (d / "notes.txt.npz").write_text("not a checkpoint\n")
    (d / "raw_pickle.npz").write_bytes(pickle.dumps({"W": [1, 2, 3]}))
    np.save(d / "array.npy", np.zeros(3))
    full = dict(np.load(d / "last.npz"))
    _save_raw(d / "object_array.npz", {**full, "W": np.array([{"x": 1}], dtype=object)})
    _save_raw(d / "version99.npz", {**full, "format_version": np.array(99)})
    _save_raw(d / "version_text.npz", {**full, "format_version": np.array("one")})
    _save_raw(d / "no_format.npz", {k: v for k, v in full.items() if k != "format"})
    _save_raw(d / "meta_list.npz", {**full, "meta_json": np.array("[1, 2]")})
    _save_raw(d / "meta_broken.npz", {**full, "meta_json": np.array("{oops")})
    _save_raw(d / "vocab_2d.npz", {**full, "vocab": np.zeros((2, 2), np.int32)})
    _save_raw(d / "vocab_negative.npz", {**full, "vocab": np.array([-1, 5], np.int32)})
    _save_raw(d / "W_nan.npz", {**full, "W": np.full_like(full["W"], np.nan)})
    _save_raw(d / "W_shape.npz", {**full, "W": np.zeros((3, 3))})
    _save_raw(d / "no_vocab.npz", {k: v for k, v in full.items() if k != "vocab"})
    _save_raw(d / "h_prev_shape.npz", {**full, "h_prev": np.zeros((2, 8))})
    _save_raw(d / "no_spec.npz", {**full, "meta_json": _with_meta(full, drop_spec=True)})
    # A two-layer LSTM's checkpoint (c_prev, layer-numbered names), and damaged copies of it.
    lstm = Trainer(TEXT, TrainConfig(cell="lstm", layers=2, m=6, seq_length=5, batch=2))
    lstm.train(10)
    lstm.save(d / "lstm_last.npz")
    full = dict(np.load(d / "lstm_last.npz"))
    _save_raw(d / "lstm_no_c_prev.npz", {k: v for k, v in full.items() if k != "c_prev"})
    _save_raw(d / "lstm_c_prev_shape.npz", {**full, "c_prev": np.zeros((1, 2, 6))})
    _save_raw(d / "lstm_c_prev_nan.npz", {**full, "c_prev": np.full((2, 2, 6), np.nan)})
    _save_raw(d / "lstm_no_W2.npz", {k: v for k, v in full.items() if k != "W2"})
    _save_raw(d / "lstm_W2_nan.npz", {**full, "W2": np.full_like(full["W2"], np.nan)})
    for name, spec in [
        ("gru", dict(cell="gru")),
        ("rnn", dict(cell="rnn")),
        ("cell_unknown", dict(cell="transformer")),
        ("layers0", dict(layers=0)),
        ("layers3", dict(layers=3)),
        ("m_text", dict(m="6")),
        ("layers_2_31", dict(layers=2**31)),
        ("m_2_31", dict(m=2**31)),
        ("m_2_20", dict(m=2**20)),
        ("K_wrong", dict(K=3)),
    ]:
        _save_raw(d / f"lstm_spec_{name}.npz", {**full, "meta_json": _with_meta(full, **spec)})
    return d


def _with_meta(arrays, drop_spec=False, **changes):
    """The checkpoint's meta_json with entries of its spec changed, or the spec removed."""
    meta = json.loads(str(arrays["meta_json"]))
    if drop_spec:
        del meta["spec"]
    else:
        meta["spec"].update(changes)
    return np.array(json.dumps(meta))


# --- the command line ---------------------------------------------------------------------------
# (id, arguments, exit status, words the message must contain). {d} is the folder of `files`.
CLI_CASES = [
    ("missing file", ["train", "{d}/missing.txt", *FAST], 1, "not found"),
    ("a directory", ["train", "{d}/folder", *FAST], 1, "directory"),
    ("empty file", ["train", "{d}/empty.txt", *FAST], 1, "empty"),
    ("shorter than seq_length+1", ["train", "{d}/short.txt", *FAST], 1, "at least 6"),
    ("binary file", ["train", "{d}/binary.bin", *FAST], 1, "not UTF-8"),
    ("latin-1 file", ["train", "{d}/latin1.txt", *FAST], 1, "not UTF-8"),
    ("m = 0", ["train", "{d}/good.txt", *FAST, "--m", "0"], 2, "--m"),
    ("m = -3", ["train", "{d}/good.txt", *FAST, "--m", "-3"], 2, "--m"),
    ("m = 2**31", ["train", "{d}/good.txt", *FAST, "--m", str(2**31)], 1, "below 2**31"),
    (
        "m too big for memory",
        ["train", "{d}/good.txt", *FAST, "--m", "100000000"],
        1,
        "out of memory",
    ),
    (
        "m fits the address space, not RAM",
        ["train", "{d}/good.txt", *FAST, "--m", "200000"],
        1,
        "GiB is available",
    ),
    ("seq_length = 0", ["train", "{d}/good.txt", *FAST, "--seq-length", "0"], 2, "--seq-length"),
    ("eta = 0", ["train", "{d}/good.txt", *FAST, "--eta", "0"], 2, "--eta"),
    ("eta = nan", ["train", "{d}/good.txt", *FAST, "--eta", "nan"], 2, "--eta"),
    ("sig < 0", ["train", "{d}/good.txt", *FAST, "--sig", "-0.5"], 2, "--sig"),
    ("negative steps", ["train", "{d}/good.txt", *FAST, "--steps", "-5"], 2, "--steps"),
    ("truncated checkpoint", ["sample", "{d}/truncated.npz", "-n", "5"], 1, "truncated or corrupt"),
    ("pickled checkpoint", ["sample", "{d}/object_array.npz", "-n", "5"], 1, "pickled"),
    ("text file as checkpoint", ["sample", "{d}/notes.txt.npz", "-n", "5"], 1, "not an .npz"),
    ("unknown format version", ["sample", "{d}/version99.npz", "-n", "5"], 1, "format version 99"),
    ("metadata not an object", ["sample", "{d}/meta_list.npz", "-n", "5"], 1, "metadata"),
    (
        "resume on other vocabulary",
        [
            "train",
            "{d}/other.txt",
            "--resume",
            "{d}/last.npz",
            "--steps",
            "60",
            "--quiet",
            "--no-gradcheck",
        ],
        1,
        "different vocabulary",
    ),
    (
        "resume from nothing",
        ["train", "--resume", "{d}/folder", "--steps", "60", "--quiet"],
        1,
        "nothing to resume",
    ),
    (
        "prime outside vocabulary",
        ["sample", "{d}/best.npz", "-n", "5", "--prime", "XYZ"],
        1,
        "never saw",
    ),
    (
        "gradcheck on a short file",
        ["gradcheck", "{d}/short.txt", "--m", "4", "--seq-length", "5"],
        1,
        "seq_length + 1",
    ),
    (
        "unknown cell",
        ["train", "{d}/good.txt", *FAST, "--cell", "transformer"],
        1,
        "cell must be one of rnn, lstm, gru",
    ),
    (
        "layers = 0",
        ["train", "{d}/good.txt", *FAST, "--layers", "0"],
        1,
        "layers must be a positive integer",
    ),
    ("layers = 2**31", ["train", "{d}/good.txt", *FAST, "--layers", str(2**31)], 1, "below 2**31"),
    (
        "gradcheck unknown cell",
        ["gradcheck", "{d}/good.txt", "--cell", "tanh", "--m", "4", "--seq-length", "5"],
        1,
        "cell must be one of",
    ),
    (
        "sample: spec and arrays disagree",
        ["sample", "{d}/lstm_spec_gru.npz", "-n", "5"],
        1,
        "disagree",
    ),
    (
        "sample: spec's m far too large",
        ["sample", "{d}/lstm_spec_m_2_20.npz", "-n", "5"],
        1,
        "disagree",
    ),
    (
        "resume lstm without c_prev",
        [
            "train",
            "{d}/good.txt",
            "--resume",
            "{d}/lstm_no_c_prev.npz",
            "--steps",
            "60",
            "--quiet",
            "--no-gradcheck",
        ],
        1,
        "c_prev",
    ),
    (
        "evaluate on characters it never saw",
        ["evaluate", "{d}/best.npz", "{d}/other.txt"],
        1,
        "not in the vocabulary",
    ),
    ("evaluate a one-character text", ["evaluate", "{d}/best.npz", "{d}/one.txt"], 1, "at least 2"),
    (
        "export to an unknown format",
        ["export", "{d}/best.npz", "{d}/out.npz", "--format", "onnx"],
        1,
        "unknown export format",
    ),
]


@pytest.fixture(scope="module")
def cli_results(files, tmp_path_factory):
    """Every CLI case run once, a few at a time (each is a Python start-up, ~0.5 s)."""
    out_root = tmp_path_factory.mktemp("out")

    def run(case):
        name, args, _, _ = case
        args = [a.replace("{d}", str(files)) for a in args]
        if args[0] == "train" and "--resume" not in args:
            args += ["--out", str(out_root / name.replace(" ", "_"))]
        return subprocess.run(
            [sys.executable, "-m", "charrnn", *args],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    # The first alone: in an editable install (editable.rebuild) it rebuilds changed C++, and
    # several imports rebuilding at once in one build folder corrupted ninja's .ninja_deps.
    first = run(CLI_CASES[0])
    with ThreadPoolExecutor(max_workers=4) as pool:
        rest = list(pool.map(run, CLI_CASES[1:]))
    return dict(zip([c[0] for c in CLI_CASES], [first, *rest]))


@pytest.mark.skipif(SANITIZED, reason="subprocesses would not load the sanitized build")
@pytest.mark.parametrize(
    "name, status, words", [(c[0], c[2], c[3]) for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_bad_input(cli_results, name, status, words):
    result = cli_results[name]
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    if status == 1:  # our own message: exactly one line
        assert len(lines) == 1, result.stderr
    last = lines[-1]
    assert last.startswith("charrnn") and "error:" in last, result.stderr
    assert words in last, result.stderr


@pytest.mark.skipif(SANITIZED, reason="subprocesses would not load the sanitized build")
def test_cli_single_distinct_character_is_refused(files, tmp_path):
    """K = 1 leaves nothing to predict (the loss is exactly 0): a one-line error, no files."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "charrnn",
            "train",
            str(files / "single.txt"),
            *FAST,
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "charrnn: error: the text has only one distinct character ('a'): there is nothing to "
        "predict; give a text with at least two different characters"
    ]
    assert not (tmp_path / "run" / "last.npz").exists()


# --- the Python API -----------------------------------------------------------------------------
P = Params.random(5, 4, 0.1, 0)  # K = 5, m = 4: the one-layer vanilla RNN (W, U, V, b, c)
LSTM = Params.random(5, 4, 0.1, 0, cell="lstm", layers=2)  # W1 U1 W2 U2 V b1 b2 c
GRU = Params.random(5, 4, 0.1, 0, cell="gru")  # W1 U1 V b1 bn1 c
H0 = np.zeros(4)
IDX = np.array([0, 1, 2, 3])
TGT = np.array([1, 2, 3, 4])


def _nan_params():
    p = P.copy()
    p.W[1, 2] = np.nan  # the views are writable: only the setters check
    return p


def _trainer_set(attr, value, params=P):
    tr = _core.Trainer(params, np.arange(40) % 5, seq_length=5)
    setattr(tr, attr, value)


def _set_item(params, name, value):
    params.copy()[name] = value


def _inf_through_the_view():
    p = P.copy()
    p.flat[0] = np.inf  # through the view: caught where it is used
    return loss(p, [0], [1], H0)


def _run_into(buffer):
    _core.Trainer(P, np.arange(40) % 5, seq_length=5).run(buffer)


API_CASES = [
    # (id, call, exception, words in the message)
    ("Params K = 0", lambda: Params(0, 4), ValueError, "K"),
    ("Params m < 0", lambda: Params(5, -1), ValueError, "m"),
    ("Params K = 2**31 (would wrap)", lambda: Params(2**31, 1), ValueError, "2**31"),
    ("Params m = 2**32 + 3 (would wrap)", lambda: Params.random(3, 2**32 + 3), ValueError, "2**31"),
    ("Params sig < 0", lambda: Params.random(5, 4, -0.1), ValueError, "sig"),
    ("Params sig = nan", lambda: Params.random(5, 4, float("nan")), ValueError, "sig"),
    ("W wrong shape", lambda: setattr(P.copy(), "W", np.zeros((4, 5))), ValueError, "(4, 4)"),
    ("b wrong ndim", lambda: setattr(P.copy(), "b", np.zeros((4, 1))), ValueError, "(4,)"),
    ("flat too short", lambda: setattr(P.copy(), "flat", np.zeros(3)), ValueError, "flat"),
    ("W complex", lambda: setattr(P.copy(), "W", np.zeros((4, 4), complex)), ValueError, "real"),
    ("W strings", lambda: setattr(P.copy(), "W", np.full((4, 4), "x")), ValueError, "real"),
    ("W object", lambda: setattr(P.copy(), "U", np.zeros((4, 5), object)), ValueError, "real"),
    ("W NaN", lambda: setattr(P.copy(), "W", np.full((4, 4), np.nan)), ValueError, "NaN"),
    (
        "c infinite",
        lambda: setattr(P.copy(), "c", np.array([0, 0, np.inf, 0, 0])),
        ValueError,
        "infinity",
    ),
    ("NaN in params", lambda: loss(_nan_params(), IDX, TGT, H0), ValueError, "NaN"),
    ("NaN in params (sample)", lambda: sample(_nan_params(), H0, [1], 5), ValueError, "NaN"),
    ("index = K", lambda: loss(P, [0, 5], [1, 2], H0), IndexError, "outside [0, 5)"),
    ("index < 0", lambda: forward_backward(P, [1, 2, -1, 0], TGT, H0), IndexError, "outside"),
    (
        "target < -1",
        lambda: forward_backward(P, IDX, [1, 2, -2, 0], H0),
        IndexError,
        "(or -1: no prediction)",
    ),
    (
        "uint64 index >= 2**63",
        lambda: loss(P, np.array([2**63 + 1], np.uint64), [0], H0),
        IndexError,
        "outside",
    ),
    ("float indices", lambda: loss(P, IDX.astype(float), TGT, H0), ValueError, "integer"),
    ("bool indices", lambda: loss(P, IDX > 1, TGT, H0), ValueError, "integer"),
    ("string indices", lambda: loss(P, "abcd", TGT, H0), ValueError, "integer"),
    ("ragged indices", lambda: loss(P, [[0], [1, 2]], [[0], [1, 2]], H0), ValueError, "integers"),
    (
        "3-D indices",
        lambda: loss(P, np.zeros((1, 2, 2), int), np.zeros((1, 2, 2), int), H0),
        ValueError,
        "(T,) or (B, T)",
    ),
    (
        "empty sequence",
        lambda: loss(P, np.array([], int), np.array([], int), H0),
        ValueError,
        "at least one",
    ),
    ("lengths differ", lambda: loss(P, IDX, TGT[:3], H0), ValueError, "shape of inputs"),
    ("h0 wrong shape", lambda: loss(P, IDX, TGT, np.zeros(5)), ValueError, "h0 must have shape"),
    ("h0 (m,) for a batch", lambda: loss(P, IDX[None], TGT[None], H0), ValueError, "(B, m)"),
    ("h0 NaN", lambda: loss(P, IDX, TGT, np.full(4, np.nan)), ValueError, "NaN"),
    ("h0 complex", lambda: loss(P, IDX, TGT, H0.astype(complex)), ValueError, "real"),
    ("Params32 to a float64 function", lambda: adagrad_step(P, Params32(5, 4), P), TypeError, ""),
    (
        "grads of another size",
        lambda: adagrad_step(P.copy(), Params(5, 3), Params(5, 4)),
        ValueError,
        "m=3",
    ),
    ("eta = 0", lambda: adagrad_step(P.copy(), P, Params(5, 4), eta=0.0), ValueError, "eta"),
    (
        "eta = nan",
        lambda: adagrad_step(P.copy(), P, Params(5, 4), eta=float("nan")),
        ValueError,
        "eta",
    ),
    ("clip limit < 0", lambda: clip_gradients(P.copy(), -1.0), ValueError, "limit"),
    ("sample n < 0", lambda: sample(P, H0, [1], -1), ValueError, "n must"),
    (
        "sample temperature 0",
        lambda: sample(P, H0, [1], 5, temperature=0.0),
        ValueError,
        "temperature",
    ),
    ("sample top_p > 1", lambda: sample(P, H0, [1], 5, top_p=1.5), ValueError, "top_p"),
    ("sample empty prime", lambda: sample(P, H0, np.array([], int), 5), ValueError, "prime"),
    ("sample prime outside K", lambda: sample(P, H0, [7], 5), IndexError, "outside"),
    (
        "native trainer text too short",
        lambda: _core.Trainer(P, IDX, seq_length=5),
        ValueError,
        "at least 6",
    ),
    (
        "native trainer seq_length 0",
        lambda: _core.Trainer(P, IDX, seq_length=0),
        ValueError,
        "seq_length",
    ),
    (
        "run into a non-contiguous buffer",
        lambda: _run_into(np.zeros(10)[::2]),
        ValueError,
        "contiguous",
    ),
    (
        "run into a read-only buffer",
        lambda: _run_into(np.broadcast_to(0.0, (3,))),
        ValueError,
        "writable",
    ),
    ("run into float32", lambda: _run_into(np.zeros(3, np.float32)), ValueError, "float64"),
    ("position outside the text", lambda: _trainer_set("position", 40), ValueError, "outside"),
    ("negative step", lambda: _trainer_set("step", -1), ValueError, ">= 0"),
    ("TrainConfig m = 0", lambda: TrainConfig(m=0), ValueError, "m must"),
    ("TrainConfig m = 1.5", lambda: TrainConfig(m=1.5), ValueError, "m must"),
    ("TrainConfig seq_length < 0", lambda: TrainConfig(seq_length=-2), ValueError, "seq_length"),
    ("TrainConfig eta = nan", lambda: TrainConfig(eta=float("nan")), ValueError, "eta"),
    ("TrainConfig eta = inf", lambda: TrainConfig(eta=float("inf")), ValueError, "eta"),
    ("TrainConfig sig < 0", lambda: TrainConfig(sig=-1.0), ValueError, "sig"),
    (
        "Trainer text too short",
        lambda: Trainer("abcdef", TrainConfig(seq_length=10)),
        ValueError,
        "at least 11",
    ),
    ("Trainer text not a str", lambda: Trainer(b"abc" * 100), TypeError, "str"),
    (
        "train negative steps",
        lambda: Trainer(TEXT, TrainConfig(m=4)).train(-1),
        ValueError,
        "steps",
    ),
    (
        "inf written through the flat view",
        _inf_through_the_view,
        ValueError,
        "params contain NaN or infinity",
    ),
    ("clip limit = 0", lambda: clip_gradients(P.copy(), 0.0), ValueError, "limit"),
    (
        "memory of another K",
        lambda: adagrad_step(P.copy(), P, Params(4, 4)),
        ValueError,
        "memory are for a model with cell=rnn, K=4",
    ),
    (
        "h0 rows != B",
        lambda: loss(P, np.zeros((3, 2), int), np.zeros((3, 2), int), np.zeros((2, 4))),
        ValueError,
        "(B, m) = (3, 4)",
    ),
    (
        "a batch of no sequences",
        lambda: loss(P, np.zeros((0, 2), int), np.zeros((0, 2), int)),
        ValueError,
        "at least one",
    ),
    (
        "a batch of empty sequences",
        lambda: loss(P, np.zeros((2, 0), int), np.zeros((2, 0), int)),
        ValueError,
        "at least one",
    ),
    # --- the model family: cells, layers, names, states, layouts
    (
        "unknown cell",
        lambda: Params(5, 4, cell="transformer"),
        ValueError,
        "cell must be 'rnn', 'lstm' or 'gru', got 'transformer'",
    ),
    ("cell names are lower case", lambda: Params32(5, 4, cell="LSTM"), ValueError, "'LSTM'"),
    ("unknown cell (random)", lambda: Params.random(5, 4, cell="tanh"), ValueError, "cell must"),
    ("unknown cell (layout)", lambda: _core.layout("", 5, 4), ValueError, "cell must"),
    (
        "layers = 0",
        lambda: Params(5, 4, cell="lstm", layers=0),
        ValueError,
        "layers must be a positive integer",
    ),
    ("layers < 0", lambda: Params32.random(5, 4, cell="gru", layers=-2), ValueError, "layers"),
    ("layers = 0 (layout)", lambda: _core.layout("rnn", 5, 4, 0), ValueError, "layers"),
    (
        "layers = 2**31 (would wrap)",
        lambda: Params(5, 4, cell="gru", layers=2**31),
        ValueError,
        "below 2**31",
    ),
    ("K = 2**31 (layout)", lambda: _core.layout("lstm", 2**31, 4), ValueError, "below 2**31"),
    (
        "4m x m of an lstm beyond 2**62",
        lambda: _core.layout("lstm", 1, 2**31 - 1),
        ValueError,
        "too many parameters",
    ),
    (
        "3m x m of a gru beyond 2**62",
        lambda: _core.layout("gru", 1, 2**31 - 1, 2),
        ValueError,
        "too many parameters",
    ),
    (
        "m x m + K x m of an rnn beyond 2**62",
        lambda: _core.layout("rnn", 2**31 - 1, 2**31 - 1),
        ValueError,
        "too many parameters",
    ),
    (
        "vanilla has no W1",
        lambda: P["W1"],
        KeyError,
        "'W1' is not a parameter of this rnn model (its arrays: W, U, V, b, c)",
    ),
    ("lstm has no W", lambda: LSTM["W"], KeyError, "its arrays: W1, U1, W2, U2, V, b1, b2, c"),
    ("lstm has no bn1", lambda: LSTM.bn1, AttributeError, "bn1"),
    ("gru layer 2 of 1", lambda: GRU["W2"], KeyError, "'W2' is not a parameter of this gru"),
    (
        "set an unknown name",
        lambda: _set_item(LSTM, "Q", np.zeros(3)),
        KeyError,
        "'Q' is not a parameter",
    ),
    (
        "set an unknown attribute",
        lambda: setattr(LSTM.copy(), "W", np.zeros((16, 4))),
        AttributeError,
        "W",
    ),
    ("flat is not an array name", lambda: GRU["flat"], KeyError, "'flat' is not a parameter"),
    (
        "gru bn1 wrong shape",
        lambda: setattr(GRU.copy(), "bn1", np.zeros(12)),
        ValueError,
        "bn1 must have shape (4,)",
    ),
    (
        "lstm b1 wrong shape",
        lambda: _set_item(LSTM, "b1", np.zeros(4)),
        ValueError,
        "b1 must have shape (16,)",
    ),
    ("lstm W2 NaN", lambda: _set_item(LSTM, "W2", np.full((16, 4), np.nan)), ValueError, "NaN"),
    (
        "c0 for a vanilla RNN",
        lambda: loss(P, IDX, TGT, H0, H0),
        ValueError,
        "c0 is the cell state of an lstm; this rnn model has none",
    ),
    (
        "c0 for a gru",
        lambda: forward_backward(GRU, IDX, TGT, None, np.zeros((1, 4))),
        ValueError,
        "this gru model has none",
    ),
    ("c0 for a gru (sample)", lambda: sample(GRU, None, [1], 5, c0=H0), ValueError, "c0"),
    (
        "c0 wrong shape",
        lambda: loss(LSTM, IDX, TGT, None, np.zeros((1, 4))),
        ValueError,
        "c0 must have shape (L, m) = (2, 4)",
    ),
    ("c0 NaN", lambda: loss(LSTM, IDX, TGT, None, np.full((2, 4), np.nan)), ValueError, "NaN"),
    (
        "c0 complex",
        lambda: loss(LSTM, IDX, TGT, None, np.zeros((2, 4), complex)),
        ValueError,
        "real",
    ),
    (
        "h0 (m,) for two layers",
        lambda: loss(LSTM, IDX, TGT, H0),
        ValueError,
        "h0 must have shape (L, m) = (2, 4), got (4,)",
    ),
    (
        "h0 (B, m) for two layers",
        lambda: loss(LSTM, IDX[None], TGT[None], np.zeros((1, 4))),
        ValueError,
        "(L, B, m) = (2, 1, 4)",
    ),
    (
        "h0 (L, m) for a batch",
        lambda: loss(LSTM, IDX[None], TGT[None], np.zeros((2, 4))),
        ValueError,
        "(L, B, m)",
    ),
    (
        "h0 of three layers for two",
        lambda: loss(LSTM, IDX, TGT, np.zeros((3, 4))),
        ValueError,
        "(L, m) = (2, 4)",
    ),
    (
        "sample h0 for a batch",
        lambda: sample(GRU, np.zeros((2, 4)), [1], 5),
        ValueError,
        "h0 must have shape",
    ),
    (
        "sample h0 (m,) for two layers",
        lambda: sample(LSTM, H0, [1], 5),
        ValueError,
        "(L, m) = (2, 4)",
    ),
    (
        "grads of another cell",
        lambda: adagrad_step(P.copy(), Params(5, 4, "lstm"), Params(5, 4)),
        ValueError,
        "grads are for a model with cell=lstm, K=5, m=4, layers=1, but params have cell=rnn",
    ),
    (
        "memory of another depth",
        lambda: adagrad_step(LSTM.copy(), LSTM, Params(5, 4, "lstm")),
        ValueError,
        "memory are for a model with cell=lstm, K=5, m=4, layers=1",
    ),
    (
        "gru grads for lstm params",
        lambda: adagrad_step(LSTM.copy(), Params(5, 4, "gru", 2), LSTM),
        ValueError,
        "cell=gru",
    ),
    (
        "Params32 memory for float64 params",
        lambda: adagrad_step(LSTM.copy(), LSTM, Params32(5, 4, "lstm", 2)),
        TypeError,
        "",
    ),
    ("evaluate chunk = 0", lambda: evaluate(P, IDX, chunk=0), ValueError, "chunk"),
    ("evaluate chunk = 2**31", lambda: evaluate(P, IDX, chunk=2**31), ValueError, "below 2**31"),
    ("evaluate one character", lambda: evaluate(LSTM, [1]), ValueError, "at least 2"),
    ("evaluate a 2-D text", lambda: evaluate(GRU, np.zeros((2, 3), int)), ValueError, "1-D"),
    ("evaluate a character outside K", lambda: evaluate(GRU, [0, 5]), IndexError, "outside [0, 5)"),
    ("evaluate float text", lambda: evaluate(P, IDX.astype(float)), ValueError, "integer"),
    ("evaluate NaN params", lambda: evaluate(_nan_params(), IDX), ValueError, "NaN"),
    (
        "trainer h_prev without the layer axis",
        lambda: _trainer_set("h_prev", np.zeros((1, 4)), LSTM),
        ValueError,
        "h_prev must have shape (L, B, m) = (2, 1, 4)",
    ),
    (
        "trainer h_prev NaN",
        lambda: _trainer_set("h_prev", np.full((1, 1, 4), np.nan)),
        ValueError,
        "NaN",
    ),
    (
        "trainer c_prev of a gru",
        lambda: _trainer_set("c_prev", np.zeros((1, 1, 4)), GRU),
        ValueError,
        "c_prev: this model has no such state",
    ),
    (
        "trainer c_prev wrong shape",
        lambda: _trainer_set("c_prev", np.zeros((1, 1, 4)), LSTM),
        ValueError,
        "c_prev must have shape (L, B, m) = (2, 1, 4)",
    ),
    (
        "TrainConfig unknown cell",
        lambda: TrainConfig(cell="transformer"),
        ValueError,
        "cell must be one of rnn, lstm, gru",
    ),
    ("TrainConfig layers = 0", lambda: TrainConfig(layers=0), ValueError, "layers must"),
    ("TrainConfig layers = 1.5", lambda: TrainConfig(layers=1.5), ValueError, "layers must"),
    ("TrainConfig layers = True", lambda: TrainConfig(layers=True), ValueError, "layers must"),
    (
        "Trainer layers = 2**31",
        lambda: Trainer(TEXT, TrainConfig(m=4, layers=2**31)),
        ValueError,
        "below 2**31",
    ),
]


@pytest.mark.parametrize(
    "call, error, words", [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES]
)
def test_api_bad_input(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


@pytest.mark.parametrize(
    "name, error, words",
    [
        ("missing.txt", FileNotFoundError, "not found"),
        ("folder", IsADirectoryError, "directory"),
        ("empty.txt", ValueError, "empty"),
        ("binary.bin", ValueError, "not UTF-8"),
        ("latin1.txt", ValueError, "byte 0xe9"),
    ],
)
def test_read_text_bad_files(files, name, error, words):
    with pytest.raises(error, match=words):
        read_text(files / name)


@pytest.mark.parametrize(
    "name, words",
    [
        ("truncated.npz", "truncated or corrupt"),
        ("header_only.npz", "truncated or corrupt"),
        ("corrupt.npz", "checkpoint"),
        ("notes.txt.npz", "not an .npz"),
        ("raw_pickle.npz", "pickled"),
        ("object_array.npz", "pickled"),
        ("array.npy", "single .npy array"),
        ("version99.npz", "format version 99"),
        ("version_text.npz", "format version"),
        ("no_format.npz", "no format marker"),
        ("meta_list.npz", "not a JSON object"),
        ("meta_broken.npz", "unreadable metadata"),
        ("vocab_2d.npz", "vocabulary"),
        ("vocab_negative.npz", "vocabulary"),
        ("W_nan.npz", "NaN"),
        ("W_shape.npz", "W"),
        ("no_vocab.npz", "vocab"),
        ("no_spec.npz", "lacks the model's spec"),
        ("lstm_no_W2.npz", "lacks the array 'W2'"),
        ("lstm_W2_nan.npz", "NaN"),
        (
            "lstm_spec_gru.npz",
            "W1 has shape (24, 6), but the checkpoint's spec (gru, 2 layer(s), m=6",
        ),
        ("lstm_spec_rnn.npz", "the spec and the arrays disagree"),
        ("lstm_spec_layers3.npz", "lacks the array 'W3'"),
        ("lstm_spec_cell_unknown.npz", "unusable model spec"),
        ("lstm_spec_layers0.npz", "unusable model spec"),
        ("lstm_spec_m_text.npz", "unusable model spec"),
        ("lstm_spec_K_wrong.npz", "the spec says K=3 but the vocabulary has"),
        # A spec beyond the core's sizes, or one whose model would not fit in memory, is the
        # file's fault: refused as a CheckpointError before anything of that size is allocated.
        ("lstm_spec_layers_2_31.npz", "layers"),
        ("lstm_spec_m_2_31.npz", "m"),
        ("lstm_spec_m_2_20.npz", "disagree"),
    ],
)
@pytest.mark.parametrize("loader", ["Model.load", "Trainer.load"])
def test_corrupt_checkpoints(files, name, words, loader):
    """Both loaders refuse with CheckpointError (a ValueError) and say what is wrong."""
    with pytest.raises(CheckpointError, match=re.escape(words)):
        if loader == "Model.load":
            Model.load(files / name)
        else:
            Trainer.load(files / name, TEXT)


def test_checkpoint_for_other_text_or_state(files):
    with pytest.raises(CheckpointError, match="different vocabulary"):
        Trainer.load(files / "last.npz", TEXT.upper())
    with pytest.raises(CheckpointError, match="different text"):
        Trainer.load(files / "last.npz", TEXT[::-1])
    with pytest.raises(CheckpointError, match="best parameters"):
        Trainer.load(files / "best.npz", TEXT)
    with pytest.raises(CheckpointError, match="h_prev"):
        Trainer.load(files / "h_prev_shape.npz", TEXT)
    with pytest.raises(CheckpointError, match="lacks the array 'c_prev'"):
        Trainer.load(files / "lstm_no_c_prev.npz", TEXT)
    with pytest.raises(CheckpointError, match=r"c_prev must have shape \(L, B, m\) = \(2, 2, 6\)"):
        Trainer.load(files / "lstm_c_prev_shape.npz", TEXT)
    with pytest.raises(CheckpointError, match="c_prev contains NaN"):
        Trainer.load(files / "lstm_c_prev_nan.npz", TEXT)
    for name in ("lstm_no_c_prev.npz", "lstm_c_prev_shape.npz"):  # sampling needs no state
        assert len(Model.load(files / name).sample(5)) == 5
    with pytest.raises(FileNotFoundError):
        checkpoint.load(files / "nothing.npz")
    with pytest.raises(IsADirectoryError):
        checkpoint.load(files / "folder")


def test_awkward_but_valid_arrays_are_accepted():
    """Not every unusual array is bad input: non-contiguous, other integer widths, big-endian
    and list inputs are converted and give exactly the plain result."""
    expected = forward_backward(P, IDX, TGT, H0)
    for inputs, targets, h0 in [
        (np.array([0, 0, 1, 1, 2, 2, 3, 3])[::2], TGT, H0),
        (IDX.astype(np.uint8), TGT.astype(">i2"), H0.astype(">f8")),
        (IDX.tolist(), TGT.tolist(), H0.tolist()),
        (IDX.astype(np.int32), TGT, np.zeros((4, 3))[:, 1]),  # a strided h0
    ]:
        result = forward_backward(P, inputs, targets, h0)
        assert result.loss == expected.loss
        np.testing.assert_array_equal(result.grads.flat, expected.grads.flat, err_msg="grads")
    W = np.asfortranarray(np.arange(16.0).reshape(4, 4))
    p = P.copy()
    p.W = W.T  # a transposed view: copied in row-major order
    np.testing.assert_array_equal(p.W, W.T, err_msg="W")


# Each of these crashed the interpreter (segfault in array_t::ensure's null result) or silently
# wrapped an int before the fix; run in a child with a 4 GiB address-space cap so that a
# regression is a failed test, not a dead test run, and an 8 TiB request always fails.
CRASHERS = textwrap.dedent("""
    import resource, warnings
    import numpy as np
    from charrnn import _core
    p, p32 = _core.Params(5, 4), _core.Params32(5, 4)
    lstm = _core.Params(5, 4, cell="lstm", layers=2)
    huge_i = np.broadcast_to(np.int64(1), (2**40,))
    huge_u = np.broadcast_to(np.uint64(1), (2**40,))
    huge_f = np.broadcast_to(1.0, (2**40,))
    cases = [
        ("index copy", lambda: _core.loss(p, huge_i, huge_i, np.zeros(4))),
        ("uint64 index copy", lambda: _core.loss(p, huge_u, huge_u, np.zeros(4))),
        ("flat copy", lambda: setattr(p, "flat", huge_f)),
        ("h0 copy", lambda: _core.loss(p, [1], [1], np.broadcast_to(0.0, (2**40, 4)))),
        ("trainer text copy", lambda: _core.Trainer(p, huge_i, 5)),
        ("c0 copy", lambda: _core.loss(lstm, [1], [1], None, np.broadcast_to(0.0, (2, 2**40, 4)))),
        ("evaluate text copy", lambda: _core.evaluate(lstm, huge_i)),
        ("sample prime copy", lambda: _core.sample(lstm, None, huge_i, 1)),
        ("sample n = 2**40", lambda: _core.sample(lstm, None, [1], 2**40)),
        ("lstm params of 2**36 entries", lambda: _core.Params(1, 2**17, cell="lstm")),
    ]
    for name, call in cases:
        try:
            call()
            print(name, "no error")
        except MemoryError:
            print(name, "MemoryError")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as pytest's filterwarnings=error does
        try:
            p32.W = np.full((4, 4), 1e300)
        except RuntimeWarning:
            print("float32 overflow RuntimeWarning")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            p32.W = np.full((4, 4), 1e300)
        except ValueError as err:
            print("float32 overflow ValueError", "infinity" in str(err))
""")


def test_conversions_that_used_to_segfault():
    if SANITIZED:  # ASan cannot run under an address-space limit; allocator returns NULL instead
        out = _capture_exec(CRASHERS)
    else:

        def cap():
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

        result = subprocess.run(
            [sys.executable, "-c", CRASHERS],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=cap,
        )
        assert result.returncode == 0, (result.returncode, result.stderr)
        out = result.stdout
    assert out.split("\n")[:12] == [
        "index copy MemoryError",
        "uint64 index copy MemoryError",
        "flat copy MemoryError",
        "h0 copy MemoryError",
        "trainer text copy MemoryError",
        "c0 copy MemoryError",
        "evaluate text copy MemoryError",
        "sample prime copy MemoryError",
        "sample n = 2**40 MemoryError",
        "lstm params of 2**36 entries MemoryError",
        "float32 overflow RuntimeWarning",
        "float32 overflow ValueError True",
    ], out


# A layer count below 2**31 passes the size checks, but a table of 2**31 layers (~2**33 entries,
# hundreds of GB) was built entry by entry before anything failed: ~20 s and 2.6 GB to reach a
# bare std::bad_alloc under a 4 GiB cap, the machine's whole memory without one. It must be
# refused at once, from the closed-form size.
HUGE_DEPTH = textwrap.dedent("""
    from charrnn import _core
    for name, call in [("layout", lambda: _core.layout("rnn", 2, 2, 2**31 - 1)),
                       ("Params", lambda: _core.Params(2, 2, layers=2**31 - 1)),
                       ("Params32 lstm", lambda: _core.Params32(2, 2, "lstm", 2**30))]:
        try:
            call()
            print(name, "no error")
        except (MemoryError, ValueError) as err:
            print(name, type(err).__name__)
""")


@pytest.mark.skipif(SANITIZED, reason="ASan cannot run under an address-space limit")
def test_a_huge_layer_count_is_refused_at_once():
    def cap():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    start = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-c", HUGE_DEPTH],
            capture_output=True,
            text=True,
            timeout=8,
            preexec_fn=cap,
        )
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"layers near 2**31: no error within 8 s (partial output {err.stdout!r})")
    assert result.returncode == 0, (result.returncode, result.stderr)
    lines = result.stdout.split("\n")[:3]
    assert all(line.split()[-1] in ("MemoryError", "ValueError") for line in lines), lines
    assert time.monotonic() - start < 5, f"took {time.monotonic() - start:.1f} s: {lines}"


def _capture_exec(code):
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(code, {})
    return buffer.getvalue()


def test_a_trainer_refuses_a_second_thread():
    """run() releases the GIL: a second thread entering the same native trainer once raced on
    its workspace (lost updates, a false `diverged`). Now it is refused, and the first run ends
    with a consistent state."""
    import threading

    trainer = _core.Trainer(Params.random(20, 16, 0.01, 0), np.arange(5000) % 20, seq_length=10)
    losses = np.zeros(100_000)
    first = threading.Thread(target=trainer.run, args=(losses,))
    first.start()
    try:
        while trainer.step == 0 and first.is_alive():
            pass
        with pytest.raises(RuntimeError, match="already running"):
            trainer.run(np.zeros(10))
    finally:
        first.join()
    assert trainer.step == len(losses) and not trainer.diverged
    assert np.all(losses > 0)


def test_model_larger_than_available_memory_is_refused_before_allocating(monkeypatch):
    """The check uses the kernel's MemAvailable; 64 KiB available refuses even m=100."""
    from charrnn import machine, train

    monkeypatch.setattr(machine, "available_memory", lambda: 2**16)
    with pytest.raises(MemoryError, match=r"m=100 needs about .* GiB .* is available"):
        train.Trainer("abcdefghij" * 20, train.TrainConfig(m=100))
    monkeypatch.setattr(machine, "available_memory", lambda: 2**40)
    assert train.Trainer("abcdefghij" * 20, train.TrainConfig(m=100)).step == 0
