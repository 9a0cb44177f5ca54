"""The callback protocol of a training run (charrnn.Callback): what a callback sees and when, a
callback that stops the run, and Trainer.fit, which runs `charrnn train`'s loop from Python
(validation, checkpoints, the time limit) and learns exactly as Trainer.train does."""

import math
import time

import charrnn
import numpy as np
import pytest
from charrnn import checkpoint
from charrnn.callbacks import Callback, Run
from charrnn.experiment import RunSettings, run
from charrnn.runfiles import read_metrics
from charrnn.train import TrainConfig, Trainer

SMALL = TrainConfig(m=10, seq_length=10, seed=3)


class Recorder(Callback):
    """Every call, in order, with what the callback can check at that moment."""

    def __init__(self):
        self.calls = []

    def on_start(self, run):
        self.run = run
        self.calls.append(("start", run))

    def on_chunk(self, progress):
        self.calls.append(("chunk", progress.step, progress.losses.copy()))

    def on_validation(self, result):
        self.calls.append(("validation", result))

    def on_checkpoint(self, path):
        step = checkpoint.load(path)[1]["step"]
        self.calls.append(("checkpoint", path.name, path.exists(), step))

    def on_end(self, result):
        self.calls.append(("end", result))

    def of(self, kind):
        return [call[1:] for call in self.calls if call[0] == kind]


class StopAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_start(self, run):
        self.run = run

    def on_chunk(self, progress):
        if progress.step >= self.step:
            self.run.stop("enough")


def test_callback_is_public_and_every_hook_does_nothing_by_default():
    assert charrnn.Callback is Callback and "Callback" in charrnn.__all__
    callback = Callback()
    for hook in ("on_start", "on_chunk", "on_validation", "on_checkpoint", "on_end"):
        assert getattr(callback, hook)(None) is None


def test_a_callback_sees_the_whole_run_in_order(tmp_path, small_text):
    trainer = Trainer(small_text, TrainConfig(m=10, seq_length=10, seed=3, val_frac=0.1))
    recorder = Recorder()
    out = tmp_path / "run"
    result = trainer.fit(
        400, [recorder], out=out, eval_every=100, checkpoint_every=150, sample_every=1000
    )

    kinds = [call[0] for call in recorder.calls]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("end") == 1
    run_ = recorder.calls[0][1]
    assert isinstance(run_, Run) and run_.trainer is trainer and run_.target == 400
    assert run_.out == out

    steps = [step for step, _ in recorder.of("chunk")]
    assert steps == sorted(set(steps)) and steps[-1] == 400
    losses = np.concatenate([losses for _, losses in recorder.of("chunk")])
    history = read_metrics(out / "metrics.csv")
    np.testing.assert_array_equal(losses, history["loss"], err_msg="losses")

    validations = [result for (result,) in recorder.of("validation")]
    assert [v.step for v in validations] == [100, 200, 300, 400]
    for v in validations:
        row = history["val_loss_per_char"][v.step - 1]
        assert v.loss == pytest.approx(row, abs=1e-6), v.step
        assert v.bits_per_char == pytest.approx(v.loss / math.log(2))
    for i, v in enumerate(validations):  # best: lower than every pass before it
        assert v.best == (v.loss < min((w.loss for w in validations[:i]), default=math.inf))
    assert trainer.best_val_loss == min(v.loss for v in validations)

    assert recorder.of("checkpoint") == [
        (name, True, step) for step in (150, 300, 400) for name in ("best.npz", "last.npz")
    ]
    (end,) = recorder.of("end")
    assert end[0] is result and result.step == 400 and result.stopped is None
    assert result.best_val_loss == trainer.best_val_loss
    for name in (
        "metrics.csv",
        "samples.txt",
        "best.npz",
        "last.npz",
        "loss.png",
        "passage.txt",
        "report.md",
    ):
        assert name in result.files and (out / name).stat().st_size > 0, name


def test_a_callback_that_stops_the_run_ends_it_cleanly(tmp_path, text_file):
    out = tmp_path / "run"
    settings = RunSettings(
        steps=10**6,
        sample_every=1000,
        sample_length=20,
        passage_length=30,
        gradcheck=False,
        quiet=True,
    )
    recorder = Recorder()
    result = run(
        str(text_file),
        out,
        TrainConfig(m=10, seq_length=10, val_frac=0.1),
        settings,
        callbacks=[StopAt(300), recorder],
    )

    assert result.stopped == "enough" and 300 <= result.step < 10**6
    assert checkpoint.load(out / "last.npz")[1]["step"] == result.step
    assert len(read_metrics(out / "metrics.csv")["step"]) == result.step
    # The last chunk still gets its validation pass and checkpoints.
    assert recorder.of("validation")[-1][0].step == result.step
    assert [call[2] for call in recorder.of("checkpoint")[-2:]] == [result.step] * 2
    assert "Stopped early (enough)" in (out / "report.md").read_text()
    for name in ("loss.png", "passage.txt", "samples.txt", "best.npz"):
        assert (out / name).stat().st_size > 0, name


def test_a_stop_asked_for_at_a_validation_pass(small_text):
    """Early stopping on the validation loss: a callback stops the run from on_validation."""

    class Patience(Callback):
        def on_start(self, run):
            self.run, self.seen = run, []

        def on_validation(self, result):
            self.seen.append(result.step)
            if len(self.seen) == 3:
                self.run.stop("patience")

    trainer = Trainer(small_text, TrainConfig(m=10, seq_length=10, val_frac=0.1))
    patience = Patience()
    result = trainer.fit(10**6, [patience], eval_every=50)
    assert patience.seen == [50, 100, 150] and result.step == 150
    assert result.stopped == "patience" and result.out is None and result.files == []


def test_fit_from_python_with_a_time_limit_and_validation(small_text):
    trainer = Trainer(small_text, TrainConfig(m=10, seq_length=10, val_frac=0.1))
    recorder = Recorder()
    started = time.perf_counter()
    result = trainer.fit(10**8, [recorder], eval_every=200, time_limit=1.0)
    elapsed = time.perf_counter() - started

    assert result.stopped == "time limit" and 0 < result.step < 10**8
    assert 1.0 <= elapsed < 5, elapsed
    assert recorder.of("checkpoint") == []  # no folder, no files
    validations = [v for (v,) in recorder.of("validation")]
    assert validations[-1].step == trainer.step == result.step  # one after the last update
    assert all(v.step % 200 == 0 for v in validations[:-1])
    assert result.best_val_loss == trainer.best_val_loss == min(v.loss for v in validations)


def test_fit_learns_exactly_as_train(small_text):
    """The run loop adds no update of its own: the same losses, parameters and best
    parameters, bit for bit."""
    for config in (
        SMALL,
        TrainConfig(
            cell="lstm", m=8, seq_length=10, batch=2, seed=1, lr_decay=0.5, lr_decay_after=0
        ),
    ):
        trained, fitted = Trainer(small_text, config), Trainer(small_text, config)
        expected, _ = trained.train(700, every=100)
        recorder = Recorder()
        fitted.fit(700, [recorder])
        losses = np.concatenate([losses for _, losses in recorder.of("chunk")])
        np.testing.assert_array_equal(losses, expected, err_msg=f"{config.cell} losses")
        np.testing.assert_array_equal(
            fitted.params.flat, trained.params.flat, err_msg=f"{config.cell} params"
        )
        np.testing.assert_array_equal(
            fitted.best_params.flat, trained.best_params.flat, err_msg=f"{config.cell} best params"
        )


def test_fit_into_a_folder_continues_it(tmp_path, small_text):
    """Two fits into one folder write what one fit of both lengths does."""
    one, two = tmp_path / "one", tmp_path / "two"
    Trainer(small_text, SMALL).fit(300, out=one, sample_every=100)
    trainer = Trainer(small_text, SMALL)
    trainer.fit(120, out=two, sample_every=100)
    trainer = Trainer.load(two / "last.npz", small_text)
    trainer.fit(180, out=two, sample_every=100)
    for name in ("metrics.csv", "samples.txt"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_fit_refuses_bad_settings(small_text):
    trainer = Trainer(small_text, SMALL)
    with pytest.raises(ValueError, match="steps"):
        trainer.fit(-1)
    with pytest.raises(ValueError, match="time-limit"):
        trainer.fit(10, time_limit=0)
    with pytest.raises(ValueError, match="eval-every"):
        trainer.fit(10, eval_every=0)
    assert trainer.step == 0
