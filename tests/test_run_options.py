"""`charrnn train`'s run options, in-process on small texts: validation split and evaluation,
checkpoint intervals, time limit, fine-tuning from a checkpoint, settings changed on resume,
divergence, line ends, file permissions, the report's records; `charrnn sample`'s greedy,
output-file and prime-file options."""

import csv
import math
import os
import stat

import numpy as np
import pytest
from charrnn import checkpoint
from charrnn.cli import main
from charrnn.model import Model
from charrnn.runfiles import METRICS_HEADER, read_metrics
from charrnn.train import TrainConfig, Trainer

FAST = [
    "--m",
    "10",
    "--seq-length",
    "10",
    "--quiet",
    "--no-gradcheck",
    "--sample-length",
    "20",
    "--passage-length",
    "30",
]


def train(*args):
    return main(["train", *map(str, args)])


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_validation_split_evaluates_and_best_follows_it(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert (
        train(
            text_file,
            "--steps",
            250,
            "--val-frac",
            0.1,
            "--eval-every",
            100,
            "--sample-every",
            1000,
            "--out",
            out,
            *FAST,
        )
        == 0
    )
    table = rows(out / "metrics.csv")
    assert list(table[0]) == METRICS_HEADER
    evaluated = [int(r["step"]) for r in table if r["val_loss_per_char"]]
    assert evaluated == [100, 200, 250]  # every --eval-every updates and at the end
    for r in table:
        if r["val_loss_per_char"]:
            assert float(r["val_bits_per_char"]) == pytest.approx(
                float(r["val_loss_per_char"]) / math.log(2), abs=2e-6
            )
        assert float(r["lr"]) == 0.1
    text = text_file.read_text(encoding="utf-8")
    trainer = Trainer.load(out / "last.npz", text)
    assert len(trainer.val_encoded) == round(0.1 * len(text))
    val = {int(r["step"]): float(r["val_loss_per_char"]) for r in table if r["val_loss_per_char"]}
    best_step = min(val, key=val.get)
    assert trainer.best_val_step == best_step
    # best.npz holds the parameters of the best validation pass, and evaluates to its figure.
    model = Model.load(out / "best.npz")
    held_out = text[len(text) - len(trainer.val_encoded) :]
    assert model.evaluate(held_out).nats == pytest.approx(val[best_step], abs=2e-6)
    report = (out / "report.md").read_text()
    assert "lowest validation loss" in report and "held out for validation" in report
    assert "best validation" in capsys.readouterr().out
    metrics = read_metrics(out / "metrics.csv")
    assert np.isnan(metrics["val_loss_per_char"][0]) and not np.isnan(
        metrics["val_loss_per_char"][99]
    )


def test_a_split_too_small_for_one_sequence_is_a_clear_error(text_file, tmp_path, capsys):
    assert train(text_file, "--val-frac", 0.0001, "--steps", 5, "--out", tmp_path / "r", *FAST) == 1
    err = capsys.readouterr().err
    assert "fewer than one sequence" in err and len(err.strip().splitlines()) == 1


def test_checkpoints_at_their_own_interval(tmp_path, text_file, monkeypatch):
    saved = []
    original = Trainer.save

    def save(self, path, kind="last"):
        saved.append((self.step, kind))
        original(self, path, kind)

    monkeypatch.setattr(Trainer, "save", save)
    out = tmp_path / "run"
    assert (
        train(
            text_file,
            "--steps",
            100,
            "--checkpoint-every",
            30,
            "--sample-every",
            40,
            "--out",
            out,
            *FAST,
        )
        == 0
    )
    assert sorted({step for step, _ in saved}) == [30, 60, 90, 100]
    samples = (out / "samples.txt").read_text()
    assert [line.split(",")[0] for line in samples.splitlines() if line.startswith("--- step")] == [
        "--- step 0",
        "--- step 40",
        "--- step 80",
    ]


@pytest.mark.slow
def test_time_limit_stops_cleanly_and_writes_everything(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert train(text_file, "--steps", 10**8, "--time-limit", 1.5, "--out", out, *FAST) == 0
    step = checkpoint.load(out / "last.npz")[1]["step"]
    assert 0 < step < 10**8
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
    assert len(rows(out / "metrics.csv")) == step
    assert "Stopped early (time limit)" in (out / "report.md").read_text()
    assert "(stopped: time limit)" in capsys.readouterr().out


@pytest.mark.slow
def test_init_from_starts_a_new_run_from_the_weights(tmp_path, text_file, small_text):
    first = tmp_path / "first"
    assert (
        train(text_file, "--cell", "gru", "--layers", 2, "--steps", 40, "--out", first, *FAST) == 0
    )
    other = tmp_path / "other.txt"
    other.write_text(small_text[3000:], encoding="utf-8")  # fewer distinct characters: fine
    second = tmp_path / "second"
    assert (
        train(other, "--init-from", first / "last.npz", "--steps", 10, "--out", second, *FAST) == 0
    )
    trainer = Trainer.load(second / "last.npz", small_text[3000:])
    assert (trainer.step, trainer.config.cell, trainer.config.layers) == (10, "gru", 2)
    assert trainer.vocab == Model.load(first / "last.npz").vocab
    # Step 0 from the weights: the first loss is the first model's on the new text.
    start = Trainer.init_from(first / "last.npz", small_text[3000:], TrainConfig(seq_length=10))
    np.testing.assert_array_equal(start.params.flat, Model.load(first / "last.npz").params.flat)
    assert start.step == 0 and not np.any(start._native.memory.flat)
    unknown = tmp_path / "unknown.txt"
    unknown.write_text(small_text[:500] + "€", encoding="utf-8")
    with pytest.raises(ValueError, match="'€'"):
        Trainer.init_from(first / "last.npz", unknown.read_text(encoding="utf-8"))


def test_resume_may_change_the_learning_rate_not_the_model(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert train(text_file, "--steps", 30, "--out", out, *FAST) == 0
    assert train("--resume", out, "--steps", 60, "--eta", 0.05, "--quiet", "--no-gradcheck") == 0
    assert [float(r["lr"]) for r in rows(out / "metrics.csv")][29:31] == [0.1, 0.05]
    report = (out / "report.md").read_text()
    assert "changed on resume at update 30 | eta 0.1 -> 0.05" in report
    capsys.readouterr()
    assert train("--resume", out, "--steps", 90, "--m", 11, "--quiet", "--no-gradcheck") == 1
    assert "drop the option" in capsys.readouterr().err


def test_divergence_by_the_smooth_loss_stops_with_status_3(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert train(text_file, "--steps", 20, "--out", out, *FAST) == 0
    arrays, meta = checkpoint.load(out / "last.npz")
    arrays["V"] = arrays["V"] * 1e4  # finite, confident and wrong: the loss explodes
    checkpoint.save(out / "last.npz", arrays, meta)
    before = (out / "last.npz").read_bytes()
    assert train("--resume", out, "--steps", 200, "--quiet", "--no-gradcheck") == 3
    assert "times the first loss" in capsys.readouterr().err
    assert (out / "last.npz").read_bytes() == before


def test_line_ends_are_read_as_lf_unless_kept(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes(("\ufeff" + "to be or not to be\r\n" * 40).encode("utf-8"))
    for mode, has_cr in (("lf", False), ("keep", True)):
        out = tmp_path / mode
        assert train(path, "--newline", mode, "--steps", 5, "--out", out, *FAST) == 0
        vocab = Model.load(out / "best.npz").vocab.chars
        assert ("\r" in vocab) == has_cr and ("\ufeff" in vocab) == has_cr
    # Resuming reads the text the same way.
    assert train("--resume", tmp_path / "keep", "--steps", 8, "--quiet", "--no-gradcheck") == 0


def test_checkpoints_get_the_umask_permissions_and_the_report_its_records(tmp_path, text_file):
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        assert train(text_file, "--steps", 10, "--out", out, *FAST) == 0
    finally:
        os.umask(old)
    for name in ("best.npz", "last.npz"):
        mode = stat.S_IMODE((out / name).stat().st_mode)
        # The umask is read once, at import: whatever it was then, the file is not 0600.
        assert mode == 0o666 & ~checkpoint._UMASK, oct(mode)
    report = (out / "report.md").read_text()
    assert "`charrnn train" in report and "--steps 10" in report
    assert "temperature 1, seed" in report


def test_sample_greedy_output_and_prime_file(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert train(text_file, "--steps", 30, "--out", out, *FAST) == 0
    capsys.readouterr()
    prime = tmp_path / "prime.txt"
    prime.write_text("ROMEO:\r\n", encoding="utf-8")
    target = tmp_path / "sample.txt"
    assert (
        main(
            [
                "sample",
                str(out / "best.npz"),
                "-n",
                "50",
                "--greedy",
                "--prime-file",
                str(prime),
                "--output",
                str(target),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == ""
    greedy = target.read_text(encoding="utf-8")
    assert greedy.startswith("ROMEO:\n") and len(greedy) == len("ROMEO:\n") + 50 + 1
    # Greedy is deterministic whatever the seed, and equals a vanishing temperature.
    model = Model.load(out / "best.npz")
    assert model.sample(50, prime="ROMEO:\n", greedy=True, seed=5) == greedy[:-1]
    assert model.sample(50, prime="ROMEO:\n", temperature=1e-9, seed=6) == greedy[:-1]


def test_resume_keeps_every_row_of_an_older_metrics_file(tmp_path, text_file):
    """A metrics.csv of the previous version (six columns) keeps its rows and values, under
    their own names, when a run resumes and the file gains the new columns."""
    out = tmp_path / "run"
    assert train(text_file, "--steps", 20, "--out", out, *FAST) == 0
    old_header = METRICS_HEADER[:6]
    table = rows(out / "metrics.csv")
    with open(out / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(old_header)
        writer.writerows([[r[name] for name in old_header] for r in table])
    assert train("--resume", out, "--steps", 30, "--quiet", "--no-gradcheck") == 0
    resumed = rows(out / "metrics.csv")
    assert [int(r["step"]) for r in resumed] == list(range(1, 31))
    assert [r["loss"] for r in resumed[:20]] == [r["loss"] for r in table]
    assert resumed[5]["lr"] == "" and float(resumed[25]["lr"]) == 0.1


@pytest.mark.slow
def test_learning_rate_decays_after_each_epoch_past_the_given_one(tmp_path, text_file):
    """char-rnn's schedule: eta times the factor after each epoch past --lr-decay-after; a run
    resumed mid-way follows the same schedule, bit for bit."""
    straight, split = tmp_path / "straight", tmp_path / "split"
    decay = ["--lr-decay", 0.5, "--lr-decay-after", 1]
    assert train(text_file, "--epochs", 3, *decay, "--out", straight, *FAST) == 0
    table = rows(straight / "metrics.csv")
    per_epoch = len(table) // 3
    lr = [float(r["lr"]) for r in table]
    assert lr[: 2 * per_epoch] == [0.1] * (2 * per_epoch)  # epochs 1 and 2
    assert lr[2 * per_epoch :] == [0.05] * per_epoch  # epoch 3: one epoch past the first
    assert train(text_file, "--epochs", 1.5, *decay, "--out", split, *FAST) == 0
    assert train("--resume", split, "--epochs", 3, "--quiet", "--no-gradcheck") == 0
    assert [r["loss"] for r in rows(split / "metrics.csv")] == [r["loss"] for r in table]
