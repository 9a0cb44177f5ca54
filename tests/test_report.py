"""What a run tells its reader, in-process on small texts: report.md's settings table (the
machine row), how losses are written in messages and the report, and the training curve that
loss.png, the progress bar and best.npz follow (TrainConfig.loss_curve)."""

import math
import platform
import re

import numpy as np
import pytest
from charrnn import _core, handlers, machine
from charrnn.cli import main
from charrnn.losses import debiased, format_loss
from charrnn.runfiles import read_metrics
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


def table_row(text, name):
    """The value of report.md's settings-table row `name`."""
    for line in text.splitlines():
        if line.startswith(f"| {name} | "):
            return line[len(f"| {name} | ") : -2]
    raise AssertionError(f"no row {name!r} in:\n{text}")


@pytest.mark.parametrize(
    "arch, expected",
    [
        ("x86-64-v3", "x86-64-v3: AVX2, FMA"),
        ("x86-64-v4", "x86-64-v4: AVX-512, AVX2, FMA"),
        ("native", "native: every instruction set of the CPU it was built on"),
    ],
)
def test_the_core_build_is_named_by_its_level(monkeypatch, arch, expected):
    """Not Eigen's list, which on an x86-64-v3 build reads "AVX SSE, SSE2, ..." (neither AVX2
    nor FMA)."""
    monkeypatch.setattr(_core, "ARCH", arch)
    monkeypatch.setattr(_core, "SIMD", "AVX SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2")
    assert machine.core_build() == expected


def test_a_portable_build_names_its_baseline(monkeypatch):
    monkeypatch.setattr(_core, "ARCH", "portable")
    monkeypatch.setattr(_core, "SIMD", "SSE, SSE2")
    assert machine.core_build() == "portable: SSE, SSE2 (the compiler's baseline)"


def test_the_cpu_model_comes_from_cpuinfo_else_platform(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\n"
        "model name\t: Intel(R) Xeon(R)  Platinum 8481C CPU @ 2.70GHz\n\n"
    )
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(cpuinfo if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert machine.cpu_model() == "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"
    cpuinfo.write_text("processor\t: 0\nfeatures\t: fp asimd\n")  # no model name (e.g. ARM)
    monkeypatch.setattr(platform, "processor", lambda: "arm")
    assert machine.cpu_model() == "arm"


def test_the_report_names_the_cpu_and_the_build(tmp_path, text_file):
    out = tmp_path / "run"
    assert main(["train", str(text_file), "--steps", "20", "--out", str(out), *FAST]) == 0
    row = table_row((out / "report.md").read_text(), "machine")
    assert machine.cpu_model() in row
    assert f"core built for {machine.core_build()}" in row and row.endswith(machine.core_build())
    assert "SSE4.2" not in row


def test_settings_changed_on_resume_are_rows_of_the_table(tmp_path, text_file):
    """A blank line before them would end the table and leave them as loose text."""
    out = tmp_path / "run"
    assert main(["train", str(text_file), "--steps", "20", "--out", str(out), *FAST]) == 0
    assert (
        main(
            [
                "train",
                "--resume",
                str(out),
                "--steps",
                "30",
                "--eta",
                "0.05",
                "--quiet",
                "--no-gradcheck",
            ]
        )
        == 0
    )
    lines = (out / "report.md").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("| changed on resume"))
    assert lines[at - 1].startswith("| machine | ")


@pytest.mark.parametrize(
    "value, decimals, text",
    [
        (47.365, 3, "47.365"),
        (49.2151, 3, "49.215"),
        (1.89462, 4, "1.8946"),
        (108.3, 2, "108.30"),
        (0.05, 3, "0.050"),
        (0.0, 3, "0.000"),
        (999_999.0, 3, "999999.000"),
        (9.15e99, 3, "9.15e+99"),
        (1.234567e6, 4, "1.235e+06"),
        (2e300, 1, "2.00e+300"),
        (5e-4, 3, "5.00e-04"),
        (math.nan, 3, "nan"),
        (math.inf, 3, "inf"),
    ],
)
def test_format_loss(value, decimals, text):
    assert format_loss(value, decimals) == text


LONG_NUMBER = re.compile(r"\d{10,}\.\d")  # a loss in full: "19880891767754821739...1040.0"


def test_huge_losses_are_printed_readably(tmp_path, text_file, capsys):
    """The issue's run: --eta 1e200 --sig 1e100 stops at update 2 (exit 3); its message gave
    the limit as a 100-digit number."""
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--eta",
                "1e200",
                "--sig",
                "1e100",
                "--steps",
                "1000",
                "--out",
                str(out),
                *FAST,
            ]
        )
        == 3
    )
    err = capsys.readouterr().err
    assert "times the first loss" in err and "e+" in err and not LONG_NUMBER.search(err), err


def test_a_run_with_huge_losses_reports_them_readably(tmp_path, text_file, capsys):
    """Losses ~1e7 per sequence that stay below the divergence limit: the closing line,
    samples.txt, report.md and `charrnn evaluate` write them as 1.23e+07."""
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--sig",
                "1e5",
                "--eta",
                "1e-12",
                "--steps",
                "30",
                "--sample-every",
                "10",
                "--out",
                str(out),
                *FAST,
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert main(["evaluate", str(out), str(text_file)]) == 0
    printed += capsys.readouterr().out
    texts = {
        "stdout": printed,
        "samples.txt": (out / "samples.txt").read_text(),
        "report.md": (out / "report.md").read_text(),
    }
    for name, text in texts.items():
        assert "e+0" in text and not LONG_NUMBER.search(text), (name, text)
    assert re.search(r"\| smooth loss \| \d\.\d\de\+0\d now", texts["report.md"])


# ---- the training curve -------------------------------------------------------------------------


def markov_text(n, seed=0):
    """n characters of a, b, c, d, e: the next letter of the cycle with probability 0.8, else
    any. A small model learns it in a few hundred updates and then stays at its entropy rate
    (~0.66 nats per character) from about the 1,000th, well below the first loss (log 5)."""
    rng = np.random.default_rng(seed)
    x = [0]
    for _ in range(n - 1):
        x.append((x[-1] + 1) % 5 if rng.random() < 0.8 else int(rng.integers(5)))
    return "".join("abcde"[i] for i in x)


def test_best_follows_the_debiased_curve():
    """Outside the assignment's setup best.npz holds the parameters of the debiased curve's
    lowest point; in it, of the smooth loss's. On a text learnt in a few hundred updates the
    smooth loss, still shedding its start-up weight, is lowest near the end of the run, later
    than the updates' losses are."""
    text = markov_text(10_000)
    for config, debias in (
        (TrainConfig(cell="lstm", m=8, seq_length=10, seed=1), True),
        (TrainConfig(m=8, seq_length=10, seed=1, batch=2), True),
        (TrainConfig(m=8, seq_length=10, seed=1), False),
    ):
        trainer = Trainer(text, config)
        losses, smooth = trainer.train(3000)
        curve = debiased(smooth, np.arange(1, 3001), losses[0]) if debias else smooth
        best = int(np.argmin(curve))
        assert trainer._native.debias_best == debias
        assert trainer._native.best_step == best, config
        assert trainer.best_smooth_loss == pytest.approx(curve[best], rel=1e-12)
        assert trainer.debiased_loss == pytest.approx(
            debiased(smooth[-1], 3000, losses[0]), rel=1e-12
        )
        if debias:
            assert int(np.argmin(smooth)) - best > 100, config  # the smooth loss's pick


def test_debiased_is_the_zero_started_average_over_its_weights():
    rng = np.random.default_rng(0)
    losses = rng.uniform(20, 110, 3000)
    smooth, zero = np.empty_like(losses), 0.0
    for i, loss in enumerate(losses):  # the assignment's, and the same average started at 0
        smooth[i] = loss if i == 0 else 0.999 * smooth[i - 1] + 0.001 * loss
        zero = 0.999 * zero + 0.001 * loss
        if i in (0, 1, 499, 2999):
            n = i + 1
            assert debiased(smooth[i], n, losses[0]) == pytest.approx(
                zero / (1 - 0.999**n), rel=1e-12
            ), n
    assert debiased(smooth[0], 1, losses[0]) == pytest.approx(losses[0], rel=1e-12)
    curve = debiased(smooth, np.arange(1, 3001), losses[0])
    assert curve.shape == (3000,) and curve[-1] == pytest.approx(zero / (1 - 0.999**3000))


@pytest.mark.parametrize(
    "settings, curve",
    [
        ({}, "smooth"),
        ({"m": 50, "seq_length": 10, "eta": 0.05, "dropout": 0.1, "dtype": "float32"}, "smooth"),
        ({"cell": "lstm"}, "debiased"),
        ({"layers": 2}, "debiased"),
        ({"batch": 2}, "debiased"),
        ({"optimizer": "adam", "eta": 2e-3}, "debiased"),
    ],
)
def test_only_the_assignments_setup_follows_the_smooth_loss(settings, curve):
    assert TrainConfig(**settings).loss_curve == curve


def test_the_plotted_curve_follows_the_recent_losses(tmp_path, monkeypatch):
    """An LSTM run of 4,000 updates (10 epochs): at every update from the 100th the curve of
    loss.png is within 0.05 nats per character of the mean loss of the last 1,000 updates (of
    all of them before the 1,000th). The smooth loss, started at the first loss, is 0.5 above
    it at update 500; the progress of the run, its report and best.npz follow the curve."""
    drawn = {}

    def plot_loss(*args, **kwargs):
        drawn.update(real_plot_loss(*args, **kwargs))
        drawn["first_loss"] = kwargs.get("first_loss")

    real_plot_loss = handlers.plot_loss
    monkeypatch.setattr(handlers, "plot_loss", plot_loss)
    path, out = tmp_path / "markov.txt", tmp_path / "run"
    path.write_text(markov_text(10_000), encoding="utf-8")
    assert (
        main(
            [
                "train",
                str(path),
                "--cell",
                "lstm",
                "--m",
                "16",
                "--seq-length",
                "25",
                "--optimizer",
                "adam",
                "--eta",
                "1e-2",
                "--steps",
                "4000",
                "--out",
                str(out),
                *FAST[4:],
                "--sample-every",
                "4000",
            ]
        )
        == 0
    )

    history = read_metrics(out / "metrics.csv")
    T, n = 25, history["step"]
    assert list(n) == list(range(1, 4001)) and np.array_equal(drawn["step"], n)
    assert drawn["first_loss"] == history["loss"][0]
    sums = np.concatenate([[0.0], np.cumsum(history["loss"] / T)])
    window = np.minimum(n, 1000).astype(int)
    recent = (sums[n.astype(int)] - sums[n.astype(int) - window]) / window
    gap = np.abs(drawn["train"] - recent)[99:]
    assert gap.max() < 0.05, (gap.max(), 100 + int(np.argmax(gap)))
    smooth = history["smooth_loss"] / T
    assert smooth[499] - recent[499] > 0.3  # what the assignment's curve would have shown

    # best.npz holds the parameters of the curve's lowest point, and the report says so.
    trainer = Trainer.load(out / "last.npz")
    best = int(np.argmin(drawn["train"]))
    assert trainer._native.best_step == best
    assert trainer.best_smooth_loss / T == pytest.approx(drawn["train"][best], rel=1e-12)
    text = (out / "report.md").read_text()
    assert (
        "lowest training loss (debiased average): " + format_loss(trainer.best_smooth_loss) in text
    )
    assert table_row(text, "training loss").startswith(format_loss(trainer.debiased_loss) + " now")
    assert "the top axis counts epochs" in text and "start-up bias removed" in text


def test_best_follows_the_debiased_curve_across_a_resume(tmp_path, small_text):
    """The first loss is part of the state: a run resumed from last.npz picks the same best
    parameters as one trained straight."""
    from helpers import split_run

    config = TrainConfig(cell="gru", m=8, seq_length=10, batch=2, seed=2)
    straight, resumed, expected, losses = split_run(
        small_text, config, 300, 400, tmp_path / "last.npz"
    )
    np.testing.assert_array_equal(losses, expected)
    assert resumed._native.first_loss == straight._native.first_loss == expected[0]
    assert resumed._native.best_step == straight._native.best_step
    assert resumed.best_smooth_loss == straight.best_smooth_loss
    np.testing.assert_array_equal(resumed.best_params.flat, straight.best_params.flat)


def test_the_assignments_setup_plots_the_smooth_loss(tmp_path, monkeypatch, text_file):
    """The one-layer rnn at batch 1 with AdaGrad: loss.png's curve is the smooth loss itself,
    as the assignment reports it, and best.npz its lowest point."""
    drawn = {}

    def plot_loss(*args, **kwargs):
        drawn.update(real_plot_loss(*args, **kwargs), first_loss=kwargs.get("first_loss"))

    real_plot_loss = handlers.plot_loss
    monkeypatch.setattr(handlers, "plot_loss", plot_loss)
    out = tmp_path / "run"
    assert main(["train", str(text_file), "--steps", "600", "--out", str(out), *FAST]) == 0
    history = read_metrics(out / "metrics.csv")
    assert drawn["first_loss"] is None
    np.testing.assert_array_equal(drawn["train"], history["smooth_loss"] / 10)
    text = (out / "report.md").read_text()
    assert "Smooth training loss (0.999 smooth + 0.001 loss) per character" in text
    assert "dashed lines mark epochs" in text and "| training loss |" not in text
    assert "lowest smooth training loss: " + format_loss(history["smooth_loss"].min()) in text
