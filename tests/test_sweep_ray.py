"""`charrnn sweep --ray`: a local Ray started once per test run (conftest.ray_local), a 4-trial
sweep with ASHA, Ctrl-C and Tuner.restore, the same bits as the local runner, a head node on
loopback reached with --address, and the errors of a storage folder that cannot be written and
an address nothing listens on. They skip only where ray does not import (CHARRNN_REQUIRE_RAY=1
makes that a failure)."""

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from charrnn.cli import main

# Ray's own warnings (and files its loggers leave open) are not this package's.
pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning",
    "ignore::FutureWarning",
    "ignore::ResourceWarning",
    "ignore::pytest.PytestUnraisableExceptionWarning",
)

ASHA = """
[sweep]
steps = {steps}
eval_every = 5
seeds = "0:2"
threads = 1
report_seconds = 0
early_stop = true
grace = 10
reduction_factor = 2

[fixed]
corpus = "{text}"
val_frac = 0.2
seq_length = 10

[params]
m = [8, 16]
"""


def rows(path):
    with open(path, newline="") as f:
        return {r["trial"]: r for r in csv.DictReader(f)}


def local_trial(tmp_path, text, settings, steps, every):
    """The same trial through the local runner's code, in this process."""
    from charrnn.sweep.trial import run_trial

    trial = {"id": "local", "settings": {"corpus": str(text), **settings}}
    return run_trial(trial, tmp_path / "local", {"steps": steps, "every": every}, threads=2)


@pytest.mark.slow
def test_asha_sweep_then_ctrl_c_and_restore(ray_local, tmp_path, text_file, capsys):
    spec = tmp_path / "asha.toml"
    spec.write_text(ASHA.format(steps=60, text=text_file))
    out = tmp_path / "asha"
    assert main(["sweep", str(spec), "--ray", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = rows(out / "trials.csv")
    assert len(table) == 4
    assert {r["status"] for r in table.values()} <= {"done", "stopped early"}
    assert any(r["status"] == "done" for r in table.values())
    for r in table.values():
        assert (out / "trials" / r["trial"] / "metrics.csv").exists()
        if r["status"] == "stopped early":
            assert int(r["updates"]) < 60
    if any(r["status"] == "stopped early" for r in table.values()):
        assert "stopped early, after" in printed
    assert (out / "best" / "best.npz").exists() and (out / "curves.png").exists()
    # A done trial has the bits the local runner gives (another thread count too).
    done = next(r for r in table.values() if r["status"] == "done")
    settings = json.loads((out / "trials" / done["trial"] / "trial.json").read_text())["settings"]
    settings.pop("corpus")
    local = local_trial(tmp_path, text_file, settings, 60, 5)
    assert f"{local['smooth_loss']:.6f}" == done["final_smooth_loss"]
    assert f"{local['bits']:.6f}" == done["best_bits_per_char"]

    # Ctrl-C while the trials run, then --resume: Tuner.restore finishes them.
    spec.write_text(
        ASHA.format(steps=3000, text=text_file)
        .replace("early_stop = true", "")
        .replace("eval_every = 5", "eval_every = 250")
    )
    out = tmp_path / "restored"

    def interrupt():
        deadline = time.time() + 120
        while time.time() < deadline:
            if list((out / "trials").glob("*/last.npz")):
                time.sleep(0.5)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=interrupt, daemon=True)
    thread.start()
    code = main(["sweep", str(spec), "--ray", "--out", str(out)])
    thread.join()
    err = capsys.readouterr().err
    assert code == 130, err
    assert f"charrnn sweep --resume {out}" in err
    before = rows(out / "trials.csv")
    assert any(r["status"] == "interrupted" for r in before.values())
    assert main(["sweep", "--resume", str(out)]) == 0
    after = rows(out / "trials.csv")
    assert {r["status"] for r in after.values()} == {"done"}
    assert {r["updates"] for r in after.values()} == {"3000"}
    # Resumed from Ray's checkpoints bit for bit: as a trial run straight through.
    settings = json.loads((out / "trials" / "t000" / "trial.json").read_text())["settings"]
    settings.pop("corpus")
    local = local_trial(tmp_path / "straight", text_file, settings, 3000, 250)
    assert f"{local['smooth_loss']:.6f}" == after["t000"]["final_smooth_loss"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_sweep_on_a_head_node_reached_with_address(ray_local, tmp_path, text_file):
    """`ray start --head` on loopback (held by --block, so that ending that one process stops
    the node without touching any other Ray on the machine), the sweep with --address."""
    ray_bin = os.path.join(os.path.dirname(sys.executable), "ray")
    port = _free_port()
    # Ray's sockets live under its temp dir, and a socket's path is at most 107 bytes.
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    head = subprocess.Popen(
        [
            ray_bin,
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--block",
            f"--temp-dir={temp}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and head.poll() is None
                time.sleep(0.5)
        out = tmp_path / "cluster"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "charrnn",
                "sweep",
                str(text_file),
                "--grid",
                "m=8,12",
                "--steps",
                "30",
                "--eval-every",
                "10",
                "--val-frac",
                "0.2",
                "--threads",
                "1",
                "--ray",
                "--address",
                f"127.0.0.1:{port}",
                "--out",
                str(out),
            ],
            capture_output=True,
            text=True,
            timeout=150,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert {r["status"] for r in rows(out / "trials.csv").values()} == {"done"}
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(head.pid, sig)  # the node's processes: the group `ray start` leads
                head.wait(timeout=30)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_an_address_nothing_listens_on_is_an_error_within_30_s(
    ray_local, tmp_path, text_file, capsys
):
    started = time.perf_counter()
    args = ["sweep", str(text_file), "--ray", "--address", f"127.0.0.1:{_free_port()}"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    assert time.perf_counter() - started < 30
    err = capsys.readouterr().err
    assert err.startswith("charrnn: error: --address") and len(err.strip().splitlines()) == 1


def test_a_storage_folder_that_cannot_be_written_is_an_error(
    ray_local, tmp_path, text_file, capsys
):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = ["sweep", str(text_file), "--ray", "--storage", str(blocker / "sweeps")]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("charrnn: error: --storage") and "cannot write" in err
    assert not (tmp_path / "o").exists()
