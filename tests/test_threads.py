"""Threads (cpp/core/parallel.hpp): results are bit-identical at any thread count, because work is
cut into tasks by its size alone and each task writes outputs of its own. Checked on shapes large
enough that every shared loop is split (per-step kernels, the weight-gradient product, Eigen's
products, the gathers): forward and backward, the training loop, a run resumed with another
count, evaluation, and bad counts."""

import numpy as np
import pytest
from charrnn import _core
from charrnn.cli import main
from charrnn.train import TrainConfig
from helpers import CELLS, split_run

THREADS = (1, 2, 3, 5)


def params(cell, m, layers, dtype, seed=1, K=30):
    p = _core.Params.random(K, m, sig=0.05, seed=seed, cell=cell, layers=layers)
    if dtype == "float32":
        q = _core.Params32(K, m, cell=cell, layers=layers)
        q.flat = p.flat
        return q
    return p


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("m,layers,B,T", [(64, 2, 24, 30), (37, 1, 1, 40), (96, 3, 9, 11)])
def test_forward_backward_is_the_same_at_any_thread_count(cell, m, layers, B, T, dtype, rng):
    p = params(cell, m, layers, dtype)
    x, y = rng.integers(0, 30, (B, T)), rng.integers(0, 30, (B, T))
    y[0, ::3] = -1  # targets that predict nothing, too
    results = [
        _core.forward_backward(p, x, y, dropout=0.2, dropout_seed=3, threads=t) for t in THREADS
    ]
    for t, r in zip(THREADS[1:], results[1:]):
        assert r.loss == results[0].loss, t
        np.testing.assert_array_equal(r.grads.flat, results[0].grads.flat, err_msg=f"{t} threads")
        np.testing.assert_array_equal(r.hs, results[0].hs, err_msg=f"{t} threads")


@pytest.mark.parametrize("cell", CELLS)
def test_training_is_the_same_at_any_thread_count(cell, small_text):
    chars = sorted(set(small_text))
    encoded = np.array([chars.index(ch) for ch in small_text], dtype=np.int32)
    runs = []
    for t in THREADS:
        tr = _core.Trainer32(
            params(cell, 48, 2, "float32", K=len(chars)),
            encoded,
            seq_length=20,
            batch=16,
            optimizer="adam",
            eta=3e-3,
            threads=t,
        )
        losses = np.empty(6)
        assert tr.run(losses) == 6 and tr.threads == t
        runs.append((losses, np.array(tr.params.flat)))
    for t, (losses, flat) in zip(THREADS[1:], runs[1:]):
        assert losses.tobytes() == runs[0][0].tobytes(), t
        np.testing.assert_array_equal(flat, runs[0][1], err_msg=f"{t} threads")


def test_a_run_resumed_with_another_thread_count_is_bit_identical(tmp_path, small_text):
    config = TrainConfig(
        cell="gru",
        layers=2,
        m=40,
        seq_length=16,
        batch=12,
        optimizer="rmsprop",
        eta=2e-3,
        threads=1,
    )
    _, second, expected, split = split_run(
        small_text, config, 4, 6, tmp_path / "last.npz", overrides={"threads": 3}
    )
    assert second.threads == 3 and second.history[-1]["changed"] == {"threads": [1, 3]}
    assert split.tobytes() == expected.tobytes()


def test_evaluation_is_the_same_at_any_thread_count(small_text):
    chars = sorted(set(small_text))
    encoded = np.array([chars.index(ch) for ch in small_text[:3000]])
    p = params("lstm", 64, 2, "float64", K=len(chars))
    results = {_core.evaluate(p, encoded, window=256, threads=t) for t in THREADS}
    assert len(results) == 1


@pytest.mark.parametrize("bad", [0, -1, 257])
def test_bad_thread_counts(bad, small_text):
    p = _core.Params(5, 4)
    with pytest.raises(ValueError, match="threads must be"):
        _core.forward_backward(p, [0, 1], [1, 2], threads=bad)
    with pytest.raises(ValueError, match="threads must be"):
        _core.evaluate(p, [0, 1, 2], threads=bad)
    with pytest.raises(ValueError, match="threads must be"):
        _core.Trainer(p, np.arange(40) % 5, seq_length=4, threads=bad)
    tr = _core.Trainer(p, np.arange(40) % 5, seq_length=4)
    with pytest.raises(ValueError, match="threads must be"):
        tr.threads = bad
    assert tr.threads == 1
    with pytest.raises(ValueError, match="threads must be"):
        TrainConfig(threads=bad)


def test_train_and_evaluate_take_threads(tmp_path, text_file, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(text_file),
                "--cell",
                "lstm",
                "--m",
                "16",
                "--seq-length",
                "10",
                "--steps",
                "30",
                "--threads",
                "2",
                "--quiet",
                "--no-gradcheck",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "2 threads" in (out / "report.md").read_text()
    assert (
        main(["evaluate", str(out / "best.npz"), str(text_file), "--threads", "2", "--json"]) == 0
    )
    assert main(["train", str(text_file), "--threads", "300", "--out", str(tmp_path / "x")]) == 1
    assert "threads must be" in capsys.readouterr().err
