"""Faults: `charrnn train` killed with SIGKILL at random moments around its checkpoint writes,
again and again, must always leave a last.npz that loads and resumes, and a run that finishes
with every file intact; Ctrl-C (SIGINT) during native training must end the process within 2 s
with exit status 130, a usable last.npz and metrics up to that step.
Not here: the atomic write itself in isolation (test_train.py) or bad input (test_bad_input.py)."""

import csv
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from charrnn import Model, Trainer, checkpoint

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("CHARRNN_SANITIZE")),
    reason="subprocesses would not load the sanitized build",
)

KILLS = 20
MODEL = ["--m", "8", "--seq-length", "5"]
RUN = ["--quiet", "--no-gradcheck", "--sample-length", "10", "--passage-length", "10"]


@pytest.fixture
def start():
    """start(*args): `charrnn train *args` in the background; killed at teardown if alive."""
    procs = []

    def start(*args):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "charrnn", "train", *map(str, args)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                stdin=subprocess.DEVNULL,
            )
        )
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _wait_for(predicate, proc, timeout=60.0):
    """Poll until predicate() holds; False if the process ended first."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    raise AssertionError("timed out waiting for the training process")


def _metrics_steps(path):
    with open(path, newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


@pytest.mark.slow
def test_sigkill_around_checkpoint_writes_never_loses_the_run(tmp_path, text_file, start):
    """Checkpoints every 200 updates (~4 ms of training, then ~20 ms of fsync'd writes), so a
    random kill mostly lands inside a write. After every kill last.npz must load, resume on the
    same text, and never go back in time; at the end a resumed run must finish cleanly."""
    text = text_file.read_text(encoding="utf-8")
    out = tmp_path / "run"
    rng = random.Random(5)
    target = 10**8  # never reached: each process is killed
    steps_seen, mid_write, loaded = [], 0, 0
    for _ in range(KILLS):
        last = out / "last.npz"
        if last.exists():
            proc = start("--resume", out, "--steps", target, "--sample-every", 200, *RUN)
            before = last.stat().st_mtime_ns
            started = lambda: last.stat().st_mtime_ns != before  # noqa: E731  a save happened
        else:
            proc = start(
                text_file, "--out", out, "--steps", target, "--sample-every", 200, *MODEL, *RUN
            )
            started = last.exists
        assert _wait_for(started, proc), proc.communicate()[1]
        time.sleep(rng.uniform(0.0, 0.06))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        mid_write += any(p.name.endswith(".tmp") for p in out.iterdir())
        for p in out.glob(".*.tmp"):  # what a killed write leaves; never read by charrnn
            p.unlink()

        # The checkpoint a kill leaves behind: loads, resumes on the same text, never regresses.
        trainer = Trainer.load(last, text)
        arrays, meta = checkpoint.load(last)
        assert steps_seen == [] or trainer.step >= steps_seen[-1]
        steps_seen.append(trainer.step)
        Model.load(out / "best.npz").sample(5)
        trainer.train(3)
        loaded += 1

    assert loaded == KILLS and steps_seen[-1] > 0
    print(
        f"\n{KILLS} SIGKILLs, {mid_write} of them in the middle of a checkpoint write; "
        f"steps at the kills: {steps_seen}"
    )
    assert mid_write >= KILLS // 4, "the kills did not land around checkpoint writes"

    # Finish the run from the last kill: every file written, every step in metrics.csv once.
    final = steps_seen[-1] + 50
    result = subprocess.run(
        [sys.executable, "-m", "charrnn", "train", "--resume", out, "--steps", str(final), *RUN],
        capture_output=True,
        text=True,
        timeout=120,
    )
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
    assert _metrics_steps(out / "metrics.csv") == list(range(1, final + 1))
    assert Trainer.load(out / "last.npz", text).step == final


@pytest.mark.slow
@pytest.mark.parametrize("model", [[], ["--cell", "lstm", "--layers", "2"]], ids=["rnn", "lstm2"])
def test_sigint_stops_native_training_within_two_seconds(tmp_path, text_file, start, model):
    """Ctrl-C at three random moments of native training (no checkpoint is due for 10^7 updates,
    so last.npz comes from the interrupt itself): exit 130 within 2 s with a one-line message;
    last.npz resumes at the step metrics.csv ends on; the next run continues from there."""
    text = text_file.read_text(encoding="utf-8")
    out = tmp_path / "run"
    rng = random.Random(7)
    args = [
        "--m",
        "32",
        "--seq-length",
        "25",
        "--quiet",
        "--no-gradcheck",
        "--steps",
        10**8,
        "--sample-every",
        10**7,
        "--sample-length",
        "10",
        "--passage-length",
        "10",
        *model,
    ]
    step = 0
    for attempt in range(3):
        if attempt == 0:
            proc = start(text_file, "--out", out, *args)
        else:
            proc = start("--resume", out, *args[4:])
        metrics = out / "metrics.csv"
        # Training is under way once the first chunk of updates is in metrics.csv.
        assert _wait_for(lambda: metrics.exists() and len(_metrics_steps(metrics)) > step, proc), (
            proc.communicate()[1]
        )
        time.sleep(rng.uniform(0.05, 0.4))
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        elapsed = time.monotonic() - sent
        assert proc.returncode == 130, stderr
        assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
        assert stderr.strip().splitlines() == [f"charrnn: interrupted (state saved in {out})"]
        # Ctrl-C writes the report, the plot and the passage of what was done, too.
        assert "Stopped early (interrupted)" in (out / "report.md").read_text()
        assert (out / "loss.png").stat().st_size > 0 and (out / "passage.txt").exists()
        trainer = Trainer.load(out / "last.npz", text)
        assert trainer.step > step
        step = trainer.step
        assert _metrics_steps(metrics) == list(range(1, step + 1))
        print(f"SIGINT {attempt + 1}: stopped in {elapsed:.3f} s at update {step}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "charrnn",
            "train",
            "--resume",
            out,
            "--steps",
            str(step + 30),
            "--quiet",
            "--no-gradcheck",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Trainer.load(out / "last.npz", text).step == step + 30


def _gradcheck_children(pid):
    """PIDs of `charrnn gradcheck` processes whose parent is pid (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    # the command name (field 2) may hold spaces; the fields after ')' do not
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid and _cmdline(entry).count(b"gradcheck"):
                found.append(int(entry))
    return found


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux-only")
def test_sigkill_of_train_also_ends_its_gradient_check_process(tmp_path, text_file, start):
    """The report's gradient check runs in a child process; without a parent-death signal a
    `kill -9` of `charrnn train` left it computing for nobody until it finished."""
    out = tmp_path / "run"
    proc = start(text_file, "--out", out, "--steps", "100000", "--m", "200", "--quiet")
    assert _wait_for(lambda: _gradcheck_children(proc.pid), proc), proc.stderr.read()
    child = _gradcheck_children(proc.pid)[0]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # SIGTERM arrives at once; the check itself would run for many seconds at m=200
    end = time.monotonic() + 3
    while _alive(child) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(child), "the gradient-check process outlived `charrnn train`"
