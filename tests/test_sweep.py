"""`charrnn sweep` with the local runner: a tiny grid end to end (files, ranking, best/), resume
after the sweep is killed, a failing trial recorded, the search space of a TOML file, and bad
input as one-line errors (exit 2) before anything starts."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from charrnn.cli import main
from charrnn.sweep.space import SweepError, expand, from_toml

TINY = ["--steps", "40", "--val-frac", "0.2", "--eval-every", "10", "--seq-length", "10"]
GRID = ["--grid", "m=8,16", "--seeds", "0:2"]


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory, small_text):
    """The tiny grid (m = 8, 16; seeds 0, 1; 40 updates), two trials at a time."""
    folder = tmp_path_factory.mktemp("sweep")
    text = folder / "small.txt"
    text.write_text(small_text, encoding="utf-8")
    out = folder / "out"
    started = time.perf_counter()
    code = main(
        ["sweep", str(text), *GRID, *TINY, "--jobs", "2", "--threads", "1", "--out", str(out)]
    )
    assert code == 0
    return text, out, time.perf_counter() - started


def test_tiny_grid_writes_the_files_and_ranks_the_trials(tiny_sweep, capsys):
    text, out, _ = tiny_sweep
    table = rows(out / "trials.csv")
    assert [r["trial"] for r in table] == ["t000", "t001", "t002", "t003"]
    assert [(r["m"], r["seed"]) for r in table] == [
        ("8", "0"),
        ("8", "1"),
        ("16", "0"),
        ("16", "1"),
    ]
    assert {r["status"] for r in table} == {"done"}
    assert all(r["updates"] == "40" and 0 < int(r["best_step"]) <= 40 for r in table)
    bits = {r["trial"]: float(r["best_bits_per_char"]) for r in table}
    best = min(bits, key=bits.get)
    for r in table:
        folder = out / "trials" / r["trial"]
        assert (folder / "metrics.csv").exists() and (folder / "last.npz").exists()
        val = [x for x in rows(folder / "metrics.csv") if x["val_bits_per_char"]]
        assert min(float(x["val_bits_per_char"]) for x in val) == pytest.approx(
            bits[r["trial"]], abs=1e-6
        )
    assert (out / "curves.png").stat().st_size > 0
    config = json.loads((out / "best" / "config.json").read_text())
    assert config["id"] == best and config["bits"] == pytest.approx(bits[best], abs=1e-6)
    # best/ works with the other commands.
    assert main(["sample", str(out / "best"), "-n", "20"]) == 0
    assert main(["evaluate", str(out / "best"), str(text), "--json"]) == 0
    assert main(["export", str(out / "best"), str(out / "best.torch.npz")]) == 0
    capsys.readouterr()
    # A second sweep into the same folder is refused; --resume of a finished one runs nothing.
    assert main(["sweep", str(text), *GRID, *TINY, "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "trials").glob("*/trial.json")}
    assert main(["sweep", "--resume", str(out)]) == 0
    printed = capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    ranking = [line.split()[1] for line in printed.splitlines() if line.startswith("   ")][:4]
    assert ranking == sorted(bits, key=bits.get)
    assert "averaged over seeds" in printed and "±" in printed


def test_resume_after_the_sweep_is_killed(tmp_path, tiny_sweep):
    text, done, _ = tiny_sweep
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "charrnn", "sweep", str(text), *GRID, *TINY]
    cmd += ["--jobs", "1", "--threads", "1", "--out", str(out)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while not (out / "trials" / "t000" / "trial.json").exists():
            assert time.time() < deadline and process.poll() is None
            time.sleep(0.05)
    finally:
        process.kill()
        process.wait()
    first = (out / "trials" / "t000" / "trial.json").read_text()
    assert not (out / "trials.csv").exists()
    assert main(["sweep", "--resume", str(out)]) == 0
    assert (out / "trials" / "t000" / "trial.json").read_text() == first  # not run again
    resumed = {r["trial"]: r for r in rows(out / "trials.csv")}
    straight = {r["trial"]: r for r in rows(done / "trials.csv")}
    for trial, r in straight.items():  # the same bits as the sweep that was not killed
        assert resumed[trial]["status"] == "done"
        for column in ("best_bits_per_char", "best_step", "final_smooth_loss"):
            assert resumed[trial][column] == r[column], (trial, column)


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path, text_file, capsys):
    out = tmp_path / "out"
    args = ["sweep", str(text_file), "--grid", "eta=0.1,100", "--diverge-factor", "1.01"]
    assert main([*args, "--m", "8", *TINY, "--jobs", "2", "--threads", "1", "--out", str(out)]) == 0
    table = {r["eta"]: r for r in rows(out / "trials.csv")}
    assert table["0.1"]["status"] == "done"
    assert table["100.0"]["status"] == "failed"
    assert "times the first loss" in table["100.0"]["message"]
    printed = capsys.readouterr().out
    assert printed.index("t000") < printed.index("t001")  # the failed trial ranks last
    assert json.loads((out / "best" / "config.json").read_text())["id"] == "t000"


def test_without_a_validation_split_the_training_loss_ranks(tmp_path, text_file, capsys):
    out = tmp_path / "out"
    args = ["sweep", str(text_file), "--grid", "m=8,12", "--steps", "30", "--seq-length", "10"]
    assert main([*args, "--jobs", "2", "--threads", "1", "--out", str(out)]) == 0
    assert "smooth training loss" in capsys.readouterr().out
    assert {r["status"] for r in rows(out / "trials.csv")} == {"done"}


def test_a_toml_sweep_expands_grids_choices_and_distributions(tmp_path, text_file):
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        f"""
[sweep]
steps = 100
seeds = [0, 1]

[fixed]
cell = "lstm"
corpus = "{text_file.name}"

[params]
m = {{grid = [8, 16]}}
eta = {{loguniform = [1e-4, 1e-2]}}
dropout = {{uniform = [0, 0.5]}}
layers = {{range = [1, 3]}}
optimizer = ["adam", "rmsprop"]
"""
    )
    (tmp_path / text_file.name).write_text(text_file.read_text())
    trials = expand(from_toml(spec, samples=3))
    assert len(trials) == 2 * 3 * 2
    assert trials == expand(from_toml(spec, samples=3))  # the draws are seeded
    for t in trials:
        s = t["settings"]
        assert 1e-4 <= s["eta"] <= 1e-2 and 0 <= s["dropout"] <= 0.5 and s["layers"] in (1, 2)
        assert s["optimizer"] in ("adam", "rmsprop") and s["cell"] == "lstm"
        assert s["corpus"] == str(tmp_path / text_file.name)
    # Without --samples, a list is a grid and a distribution is an error.
    spec.write_text('[params]\nm = [8, 16]\ncell = ["rnn", "gru"]\n')
    assert len(expand(from_toml(spec))) == 4


def test_dry_run_counts_the_trials(text_file, capsys):
    args = ["sweep", str(text_file), "--grid", "m=64,128,256", "--grid", "eta=1e-3,2e-3"]
    assert main([*args, "--seeds", "0:3", "--cell", "lstm", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "18 trials of 5,000 updates" in out and "t017  m=256 eta=0.002 seed=2" in out


@pytest.mark.parametrize(
    "args, toml, message",
    [
        (["--grid", "foo=1,2"], None, "unknown setting 'foo'"),
        (["--grid", "m="], None, "an empty value"),
        (["--grid", "m=8,x"], None, "m: expected int"),
        (["--grid", "m=0,8"], None, "m must be a positive integer"),
        (["--seeds", "3:1"], None, "holds no seed"),
        (["--grid", "corpus=nope.txt"], None, "no such text file"),
        (["--early-stop"], None, "needs --ray"),
        ([], "[params]\nm = []\n", "an empty list"),
        (["--samples", "2"], "[params]\neta = {uniform = [0.5, 0.1]}\n", "has low > high"),
        (["--samples", "2"], "[params]\nlayers = {range = [3, 3]}\n", "is empty"),
        ([], "[params]\neta = {loguniform = [1e-4, 1e-2]}\n", "give --samples"),
        ([], "[fixed]\nwidth = 3\n", "unknown setting 'width'"),
        ([], "[sweep]\nstepz = 3\n", "unknown key sweep.stepz"),
    ],
)
def test_bad_input_is_one_line_before_anything_starts(tmp_path, capsys, args, toml, message):
    source = []
    if toml is not None:
        (tmp_path / "s.toml").write_text(toml)
        source = [str(tmp_path / "s.toml")]
    out = tmp_path / "out"
    assert main(["sweep", *source, *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("charrnn: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_ray_missing_is_one_line_saying_how_to_install_it(monkeypatch, text_file, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    assert main(["sweep", str(text_file), "--ray", "--dry-run"]) == 0  # a dry run needs no Ray
    assert main(["sweep", str(text_file), "--ray", "--out", str(text_file.parent / "o")]) == 2
    err = capsys.readouterr().err
    assert "pip install 'charrnn[ray]'" in err and len(err.strip().splitlines()) == 1


def test_import_charrnn_never_imports_ray():
    code = (
        "import sys, charrnn, charrnn.cli, charrnn.sweep, charrnn.sweep.command\n"
        "charrnn.cli.build_parser(); charrnn.Trainer\n"
        "print('ray' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_sweep_error_is_a_value_error():
    assert issubclass(SweepError, ValueError)


@pytest.mark.skipif(sys.platform != "linux", reason="Ctrl-C as a signal to the process")
def test_ctrl_c_stops_launching_and_prints_the_resume_command(tmp_path, text_file):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "charrnn", "sweep", str(text_file), "--grid", "m=8,9,10,11"]
    cmd += ["--steps", "200000", "--seq-length", "10", "--eval-every", "500", "--jobs", "1"]
    cmd += ["--threads", "1", "--out", str(out)]
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (out / "trials" / "t000" / "last.npz").exists():
        assert time.time() < deadline and process.poll() is None
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert f"charrnn sweep --resume {out}" in stderr
    assert "t000" in stdout  # the partial ranking
    table = rows(out / "trials.csv")
    assert [r["status"] for r in table] == ["interrupted", "pending", "pending", "pending"]
    assert int(table[0]["updates"]) > 0 and (out / "trials" / "t000" / "last.npz").exists()
