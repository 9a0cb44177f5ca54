"""The command line as a user runs it: `charrnn train`, `sample`, `evaluate`, `export` and
`gradcheck`, in a subprocess, on small texts in tmp_path."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

FAST = [
    "--m",
    "12",
    "--seq-length",
    "10",
    "--quiet",
    "--no-gradcheck",
    "--sample-every",
    "100",
    "--sample-length",
    "30",
    "--passage-length",
    "50",
]


def charrnn(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "charrnn", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_train_writes_every_file(tmp_path, text_file):
    out = tmp_path / "run"
    result = charrnn("train", text_file, "--steps", 300, "--out", out, *FAST, "--seed", 3)
    assert result.returncode == 0, result.stderr
    for name in (
        "metrics.csv",
        "loss.png",
        "samples.txt",
        "best.npz",
        "last.npz",
        "passage.txt",
        "report.md",
    ):
        assert (out / name).stat().st_size > 0, name
    rows = read_rows(out / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, 301))
    assert {"step", "epoch", "loss", "smooth_loss"} <= set(rows[0])
    assert float(rows[-1]["smooth_loss"]) < float(rows[0]["smooth_loss"])
    samples = (out / "samples.txt").read_text()
    assert [line.split(",")[0] for line in samples.splitlines() if line.startswith("--- step")] == [
        "--- step 0",
        "--- step 100",
        "--- step 200",
        "--- step 300",
    ]
    assert len((out / "passage.txt").read_text()) == 51
    report = (out / "report.md").read_text()
    for section in ("Gradient check", "loss.png", "Samples during training", "Passage"):
        assert section in report
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_includes_the_gradient_check(tmp_path, text_file):
    out = tmp_path / "run"
    args = [a for a in FAST if a != "--no-gradcheck"]
    result = charrnn("train", text_file, "--steps", 50, "--out", out, *args)
    assert result.returncode == 0, result.stderr
    report = (out / "report.md").read_text()
    assert "overall: PASS" in report and "norm_rel_err_fd" in report


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path, text_file):
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert charrnn("train", text_file, "--steps", 400, "--out", straight, *FAST).returncode == 0
    assert charrnn("train", text_file, "--steps", 200, "--out", split, *FAST).returncode == 0
    # --steps counts from the start: 200 more. Settings come from the checkpoint.
    result = charrnn(
        "train",
        "--resume",
        split,
        "--steps",
        400,
        "--quiet",
        "--no-gradcheck",
        "--sample-every",
        100,
        "--sample-length",
        30,
        "--passage-length",
        50,
    )
    assert result.returncode == 0, result.stderr
    assert read_rows(split / "metrics.csv") == read_rows(straight / "metrics.csv")
    with np.load(straight / "last.npz") as a, np.load(split / "last.npz") as b:
        for key in ("W", "U", "V", "b", "c", "memory_W", "best_V", "h_prev"):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert (split / "samples.txt").read_text() == (straight / "samples.txt").read_text()
    again = charrnn("train", "--resume", split, "--steps", 300, "--quiet", "--no-gradcheck")
    assert again.returncode == 1 and "already at step 400" in again.stderr
    clash = charrnn("train", "--resume", split, "--steps", 500, "--m", 20, "--quiet")
    assert clash.returncode == 1 and "m=12" in clash.stderr


@pytest.mark.slow
def test_epochs_on_non_ascii_text(tmp_path):
    text = "Ångström läser «Fågel» på ön; 你好，世界。Ça va? Ωμέγα! " * 30
    path = tmp_path / "unicode.txt"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    result = charrnn("train", path, "--epochs", 2, "--out", out, *FAST)
    assert result.returncode == 0, result.stderr
    rows = read_rows(out / "metrics.csv")
    steps_per_epoch = (len(text) - 1) // 10
    assert len(rows) == 2 * steps_per_epoch and float(rows[-1]["epoch"]) == pytest.approx(2.0)
    sample = charrnn("sample", out / "best.npz", "-n", 200, "--seed", 1)
    assert sample.returncode == 0, sample.stderr
    assert set(sample.stdout.rstrip("\n")) <= set(text)


@pytest.mark.slow
def test_sample_command(tmp_path, text_file):
    out = tmp_path / "run"
    assert charrnn("train", text_file, "--steps", 200, "--out", out, *FAST).returncode == 0
    a = charrnn("sample", out / "best.npz", "-n", 120, "--seed", 5, "--temperature", 0.8)
    b = charrnn("sample", out, "-n", 120, "--seed", 5, "--temperature", 0.8)  # a run folder
    assert a.returncode == 0 and a.stdout == b.stdout and len(a.stdout) == 121
    primed = charrnn("sample", out / "last.npz", "-n", 40, "--prime", "KING", "--top-p", 0.9)
    assert primed.returncode == 0 and primed.stdout.startswith("KING") and len(primed.stdout) == 45
    bad = charrnn("sample", out / "best.npz", "--prime", "\u263a")
    assert bad.returncode == 1 and "never saw" in bad.stderr and "Traceback" not in bad.stderr
    bad = charrnn("sample", out / "best.npz", "--top-p", 1.5)
    assert bad.returncode == 2 and "top-p" in bad.stderr


def test_gradcheck_json(tmp_path, text_file):
    result = charrnn("gradcheck", text_file, "--m", 6, "--seq-length", 8, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for name in ("W", "U", "V", "b", "c"):
        entry = report[name]
        assert entry["norm_rel_err_fd"] <= 1e-6
        assert entry["max_abs_err_fd"] <= 1e-8
        assert entry["max_abs_diff_ref"] <= 1e-10
        assert "max_rel_err_fd" in entry
    table = charrnn("gradcheck", text_file, "--m", 6, "--seq-length", 8)
    assert table.returncode == 0 and "PASS" in table.stdout and "FAIL" not in table.stdout


@pytest.mark.slow
def test_divergence_stops_and_keeps_checkpoints(tmp_path, text_file):
    out = tmp_path / "run"
    assert charrnn("train", text_file, "--steps", 100, "--out", out, *FAST).returncode == 0
    with np.load(out / "last.npz") as npz:
        data = dict(npz)
    data["V"] = np.full_like(data["V"], 1e308)  # finite, so it loads; the logits overflow
    np.savez(out / "last.npz", **data)
    before = {name: (out / name).read_bytes() for name in ("last.npz", "best.npz")}
    result = charrnn("train", "--resume", out, "--steps", 300, "--quiet", "--no-gradcheck")
    assert result.returncode == 3, result.stderr
    assert "update 101" in result.stderr and "Traceback" not in result.stderr
    assert {name: (out / name).read_bytes() for name in before} == before


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "missing.txt"], "not found"),
        (["train", ".", "--steps", "5"], "directory"),
        (["sample", "missing.npz"], "not found"),
    ],
)
def test_errors_are_one_line(tmp_path, args, words):
    result = charrnn(
        *args,
        "--quiet" if args[0] == "train" else "-n",
        *([] if args[0] == "train" else ["5"]),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_refuses_to_overwrite_a_run(tmp_path, text_file):
    out = tmp_path / "run"
    assert charrnn("train", text_file, "--steps", 20, "--out", out, *FAST).returncode == 0
    before = (out / "last.npz").read_bytes()
    result = charrnn("train", text_file, "--steps", 20, "--out", out, *FAST)
    assert result.returncode == 1 and "--resume" in result.stderr
    assert (out / "last.npz").read_bytes() == before


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_family_end_to_end(tmp_path, text_file, cell):
    """train --cell --layers (with the report's gradient check of that model), sample with a
    prime, evaluate --json, export --format torch."""
    out = tmp_path / "run"
    args = [a for a in FAST if a != "--no-gradcheck"]
    result = charrnn(
        "train", text_file, "--cell", cell, "--layers", 2, "--steps", 200, "--out", out, *args
    )
    assert result.returncode == 0, result.stderr
    report = (out / "report.md").read_text()
    assert f"2-layer {cell.upper()}, m = 12" in report
    assert "W2" in report and "overall: PASS" in report  # the check covered this model
    sample = charrnn("sample", out / "best.npz", "-n", 40, "--prime", "ROMEO:")
    assert sample.returncode == 0 and sample.stdout.startswith("ROMEO:"), sample.stderr
    assert len(sample.stdout) == len("ROMEO:") + 40 + 1
    evaluated = charrnn("evaluate", out / "best.npz", text_file, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    figures = json.loads(evaluated.stdout)
    assert set(figures) == {"nats", "bits", "perplexity", "characters"}
    assert figures["characters"] == len(text_file.read_text(encoding="utf-8")) - 1
    assert 0 < figures["bits"] < np.log2(80)
    exported = charrnn("export", out / "best.npz", tmp_path / "w.npz", "--format", "torch")
    assert exported.returncode == 0, exported.stderr
    with np.load(tmp_path / "w.npz") as npz:
        assert {"rnn.weight_ih_l1", "decoder.weight", "vocabulary"} <= set(npz.files)


def test_gradcheck_json_for_a_stacked_gated_model(text_file):
    result = charrnn(
        "gradcheck",
        text_file,
        "--cell",
        "gru",
        "--layers",
        2,
        "--m",
        5,
        "--seq-length",
        6,
        "--json",
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["settings"]["cell"] == "gru" and report["settings"]["layers"] == 2
    for name in ("W1", "U1", "b1", "bn1", "W2", "U2", "b2", "bn2", "V", "c"):
        assert report[name]["norm_rel_err_fd"] <= 1e-6, name
    assert report["passed"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, small_text):
    """(text file, run folder) of one short run, shared by the error cases."""
    folder = tmp_path_factory.mktemp("small_run")
    text = folder / "small.txt"
    text.write_text(small_text, encoding="utf-8")
    assert charrnn("train", text, "--steps", 5, "--out", folder / "run", *FAST).returncode == 0
    return text, folder / "run"


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "TEXT", "--layers", "0", "--steps", "5"], "layers"),
        (["train", "TEXT", "--cell", "transformer", "--steps", "5"], "cell"),
        (["gradcheck", "TEXT", "--cell", "tcn"], "cell"),
        (["gradcheck", "TEXT", "--layers", "0"], "layers"),
        (["export", "CKPT", "OUT", "--format", "onnx"], "format"),
        (["evaluate", "CKPT", "EMPTY"], "empty"),
        (["evaluate", "CKPT", "UNKNOWN"], "'€'"),
        (["evaluate", "MISSING", "TEXT"], "not found"),
    ],
)
def test_family_errors_are_one_line(tmp_path, small_run, args, words):
    text_file, out = small_run
    unknown = tmp_path / "unknown.txt"
    unknown.write_text("to be €", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    names = {
        "TEXT": text_file,
        "CKPT": out / "best.npz",
        "OUT": tmp_path / "x.npz",
        "EMPTY": empty,
        "UNKNOWN": unknown,
        "MISSING": tmp_path / "no.npz",
    }
    result = charrnn(*[names.get(a, a) for a in args], *(["--quiet"] if args[0] == "train" else []))
    assert result.returncode == 1, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
