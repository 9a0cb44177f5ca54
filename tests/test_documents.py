"""Documents, one per line (TrainConfig.documents, `--documents`): the layout in windows
(data.document_streams), targets that predict nothing (-1) in the native core and the reference,
evaluation that reads each document from a zero state and counts its end symbol, the training
loop against a reference loop over the same windows, resume, sampling documents, the command
line, and learning a small file of names (tests/data/names.txt)."""

from pathlib import Path

import numpy as np
import pytest
from charrnn import _core, reference
from charrnn.cli import main
from charrnn.data import END, Vocabulary, document_streams, split_documents
from charrnn.gradcheck import numerical_gradients
from charrnn.model import Model
from charrnn.train import TrainConfig, Trainer
from helpers import CELLS, split_run, to_native

NAMES = Path(__file__).parent / "data" / "names.txt"


@pytest.fixture(scope="module")
def names():
    return NAMES.read_text(encoding="utf-8")


# ---- the layout -------------------------------------------------------------------------------


def test_split_documents_skips_empty_lines():
    assert split_documents("ann\n\nbob\ncy\n") == ["ann", "bob", "cy"]
    assert split_documents("\n\n") == []


@pytest.mark.parametrize("B,T", [(1, 1), (1, 4), (3, 4), (2, 7), (5, 3)])
def test_each_document_begins_a_window_and_is_read_once(B, T, rng):
    docs = [rng.integers(1, 9, rng.integers(0, 12)) for _ in range(13)]
    text, targets = document_streams(docs, 0, B, T)
    assert text.dtype == targets.dtype == np.int32 and text.shape == targets.shape
    assert text.size % (B * T) == 0
    chunk = text.size // B
    found = []
    for j in range(B):
        x, y = text[j * chunk : (j + 1) * chunk], targets[j * chunk : (j + 1) * chunk]
        starts = [i for i in range(chunk) if x[i] == 0 and y[i] >= 0]
        assert all(i % T == 0 for i in starts)  # where the state is zeroed
        for i in starts:
            k = int(np.argmax(y[i:] == 0))  # the end symbol: k + 1 predictions
            np.testing.assert_array_equal(x[i + 1 : i + k + 1], y[i : i + k])
            found.append(tuple(y[i : i + k]))
            pad = y[i + k + 1 : -(-(i + k + 1) // T) * T]
            assert np.all(pad == -1), "padding up to the window's end predicts nothing"
    assert sorted(found) == sorted(tuple(d) for d in docs)
    assert np.count_nonzero(targets >= 0) == sum(len(d) + 1 for d in docs)


def test_documents_are_dealt_to_the_emptiest_stream():
    docs = [np.ones(n, dtype=np.int32) for n in (9, 1, 1, 1)]  # windows of 4: 3, 1, 1, 1
    text, _ = document_streams(docs, 0, 2, 4)
    chunk = text.size // 2
    assert chunk == 3 * 4  # stream 0: the long one; stream 1: the three short ones
    assert list(text[chunk::4]) == [0, 0, 0]


# ---- targets that predict nothing -------------------------------------------------------------


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("cell", CELLS)
def test_ignored_targets_equal_the_reference(cell, B, rng):
    K, m, T, L = 6, 5, 7, 2
    ref = reference.Params.random(_core.layout(K, m, cell=cell, layers=L), sig=0.3, seed=4)
    x = rng.integers(0, K, (B, T))
    y = rng.integers(0, K, (B, T))
    y[0, 4:] = -1
    y[-1, :2] = -1
    native = _core.forward_backward(to_native(ref), x, y)
    expected = reference.forward_backward(ref, x, y)
    assert native.loss == pytest.approx(expected.loss, rel=1e-13)
    for name in ref:
        np.testing.assert_allclose(
            native.grads[name], expected.grads[name], rtol=1e-11, atol=1e-14, err_msg=f"d{name}"
        )
    # The loss is that of full windows: T / n times the summed losses of the n targets.
    n = np.count_nonzero(y >= 0)
    full = reference.forward(ref, x, np.where(y >= 0, y, 0))
    per_target = -np.log(full.batch_probs[np.nonzero(y >= 0) + (y[y >= 0],)])
    assert native.loss == pytest.approx(T / n * per_target.sum(), rel=1e-12)


def test_ignored_targets_against_finite_differences(rng):
    ref = reference.Params.random(_core.layout(5, 4, cell="gru", layers=2), sig=0.5, seed=1)
    params = to_native(ref)
    x, y = rng.integers(0, 5, (2, 6)), rng.integers(0, 5, (2, 6))
    y[1, 3:] = -1
    analytic = _core.forward_backward(params, x, y).grads
    numeric = numerical_gradients(lambda: _core.loss(params, x, y), params)
    for name in ref:
        np.testing.assert_allclose(
            analytic[name], numeric[name], rtol=1e-6, atol=1e-9, err_msg=f"d{name}"
        )


def test_no_target_at_all_is_a_zero_loss_and_gradient():
    p = _core.Params.random(5, 4, sig=0.1, seed=0, cell="lstm")
    result = _core.forward_backward(p, [[1, 2, 3]], [[-1, -1, -1]])
    assert result.loss == 0.0 and not np.any(result.grads.flat)


# ---- evaluation: each document alone ----------------------------------------------------------


def reference_document_nats(ref, vocab, docs):
    """Sum over documents of -log p of doc + END read as END + doc from a zero state, one
    document at a time in the reference (no layout involved)."""
    end = vocab.index(END)
    total, count = 0.0, 0
    for doc in docs:
        seq = np.concatenate([[end], vocab.encode(doc), [end]])
        total += float(reference.forward(ref, seq[:-1], seq[1:]).loss)
        count += len(seq) - 1
    return total, count


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 2), ("gru", 1)])
def test_evaluating_documents_reads_each_alone_and_counts_its_end(cell, layers):
    docs = [
        "ab",
        "b",
        "",
        "abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc",
        "cab",
        "a" * 130,
    ]
    text = "\n".join(docs) + "\n"
    vocab = Vocabulary.from_text(text)
    ref = reference.Params.random(
        _core.layout(vocab.K, 6, cell=cell, layers=layers), sig=0.5, seed=2
    )
    result = Model(to_native(ref), vocab, documents=True).evaluate(text, documents=True)
    total, count = reference_document_nats(ref, vocab, [d for d in docs if d])
    assert result.documents == 5 and result.characters == count
    assert result.nats == pytest.approx(total / count, rel=1e-12)


def test_plain_evaluation_is_unchanged_by_documents_support(small_text):
    """A plain text still predicts text[i+1] from everything before it, chunks carried."""
    vocab = Vocabulary.from_text(small_text)
    ref = reference.Params.random(_core.layout(vocab.K, 8, cell="lstm", layers=1), sig=0.3, seed=1)
    text = small_text[:700]
    encoded = vocab.encode(text)
    got = Model(to_native(ref), vocab).evaluate(text)
    expected = reference.forward(ref, encoded[:-1], encoded[1:]).loss / (len(text) - 1)
    assert got.characters == len(text) - 1
    assert got.nats == pytest.approx(expected, rel=1e-12)


# ---- training ---------------------------------------------------------------------------------


def test_first_updates_equal_a_reference_loop_over_the_windows(names):
    """The native loop against forward_backward + clip + RMSprop in numpy over the same windows,
    each stream's state zeroed where its window begins a document: losses and params after 6
    updates, batch 3, documents longer than a window included."""
    config = TrainConfig(
        cell="lstm",
        layers=2,
        m=8,
        seq_length=5,
        batch=3,
        optimizer="rmsprop",
        eta=5e-3,
        documents=True,
    )
    trainer = Trainer(names, config)
    streams = trainer.train_streams
    ref = reference.Params.from_native(trainer.params)
    memory = reference.Params.zeros(ref.layout)
    B, T = 3, 5
    chunk = len(streams.text) // B
    x_all, y_all = streams.text.reshape(B, chunk), streams.targets.reshape(B, chunk)
    h, c = np.zeros((2, B, 8)), np.zeros((2, B, 8))
    expected = []
    for s in range(6):
        x, y = x_all[:, s * T : (s + 1) * T], y_all[:, s * T : (s + 1) * T]
        begins = x[:, 0] == streams.end
        h[:, begins], c[:, begins] = 0.0, 0.0
        result = reference.forward_backward(ref, x, y, h, c)
        expected.append(result.loss)
        reference.clip_gradients(result.grads, 5.0)
        reference.rmsprop_step(ref, result.grads, memory, 5e-3, 0.95, 1e-8)
        h, c = result.h_last, result.c_last
    losses, _ = trainer.train(6)
    np.testing.assert_allclose(losses, expected, rtol=1e-9)
    for name in ref:
        np.testing.assert_allclose(
            trainer.params[name], ref[name], rtol=1e-8, atol=1e-10, err_msg=name
        )


def test_a_resumed_documents_run_is_bit_identical(tmp_path, names):
    config = TrainConfig(
        cell="gru",
        m=12,
        seq_length=6,
        batch=4,
        documents=True,
        dropout=0.2,
        optimizer="adam",
        eta=4e-3,
        val_frac=0.1,
    )
    whole, second, expected, split = split_run(names, config, 35, 45, tmp_path / "last.npz")
    assert split.tobytes() == expected.tobytes()
    assert second.evaluate_validation() == whole.evaluate_validation()


def test_learning_names(names):
    """A 1-layer lstm learns the names well below the uniform guess (log2 27 = 4.75 bits per
    character): the held-out 10% under 3.6 bits after 300 updates (measured 3.37; 180 names
    are soon learnt by heart, and the held-out loss rises again after ~500)."""
    config = TrainConfig(
        cell="lstm",
        m=48,
        seq_length=8,
        batch=8,
        documents=True,
        optimizer="adam",
        eta=5e-3,
        val_frac=0.1,
    )
    trainer = Trainer(names, config)
    before = trainer.evaluate_validation().bits
    trainer.train(300)
    after = trainer.evaluate_validation().bits
    assert before > 4.5 and after < 3.6, (before, after)
    assert trainer.n_val == 20 and len(trainer.documents) == 200


def test_sampled_documents(names):
    trainer = Trainer(
        names,
        TrainConfig(cell="gru", m=16, seq_length=8, documents=True, optimizer="adam", eta=1e-2),
    )
    trainer.train(300)
    model = trainer.model()
    docs = model.sample_documents(25, seed=3)
    assert len(docs) == 25 and all(END not in d for d in docs)
    assert docs == model.sample_documents(25, seed=3)
    assert docs != model.sample_documents(25, seed=4)
    assert all(len(d) <= 2 for d in model.sample_documents(10, max_length=2, seed=3))
    text = model.sample_text(100, seed=1)
    assert len(text) >= 100 - 1 - max(len(d) for d in docs) and text.count(END) >= 1
    assert trainer.sample(50).count(END) >= 1  # samples during training are documents too


# ---- the command line -------------------------------------------------------------------------


def test_train_sample_and_evaluate_documents(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                str(NAMES),
                "--documents",
                "--cell",
                "lstm",
                "--m",
                "16",
                "--seq-length",
                "8",
                "--batch",
                "4",
                "--optimizer",
                "adam",
                "--eta",
                "1e-2",
                "--steps",
                "200",
                "--val-frac",
                "0.1",
                "--eval-every",
                "100",
                "--quiet",
                "--no-gradcheck",
                "--sample-every",
                "100",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = (out / "report.md").read_text()
    assert "200 documents, one per line" in report and "the last 20 documents" in report
    capsys.readouterr()
    assert main(["sample", str(out), "--documents", "7", "--seed", "2"]) == 0
    lines = capsys.readouterr().out.split("\n")
    assert len(lines) == 8 and lines[-1] == ""  # 7 documents, each ended by a line end
    assert main(["sample", str(out), "-n", "40", "--seed", "2"]) == 0  # documents too
    printed = capsys.readouterr().out
    assert printed.startswith("\n".join(lines[:2])) and len(printed) >= 40
    assert main(["evaluate", str(out / "best.npz"), str(NAMES), "--documents", "--json"]) == 0
    assert '"documents": 200' in capsys.readouterr().out
    # The model, not the flag, may change on resume: --documents is part of what was learnt.
    assert main(["train", "--resume", str(out), "--steps", "250", "--quiet", "--no-gradcheck"]) == 0


def test_documents_errors(tmp_path, capsys):
    one_line = tmp_path / "one.txt"
    one_line.write_text("abcabcabcabc", encoding="utf-8")
    out = tmp_path / "plain"
    assert (
        main(
            [
                "train",
                str(one_line),
                "--m",
                "4",
                "--seq-length",
                "4",
                "--steps",
                "5",
                "--quiet",
                "--no-gradcheck",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["sample", str(out), "--documents", "3"]) == 1
    assert "no line end" in capsys.readouterr().err
    few = tmp_path / "few.txt"
    few.write_text("ann\nbob\n", encoding="utf-8")
    assert (
        main(["train", str(few), "--documents", "--batch", "3", "--out", str(tmp_path / "x")]) == 1
    )
    assert "fewer than --batch 3" in capsys.readouterr().err
    assert (
        main(["train", str(few), "--documents", "--val-frac", "0.1", "--out", str(tmp_path / "y")])
        == 1
    )
    assert "holds out none" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n\n", encoding="utf-8")
    assert main(["train", str(empty), "--documents", "--out", str(tmp_path / "z")]) == 1
    assert "fewer than --batch 1" in capsys.readouterr().err
    with pytest.raises(ValueError, match="middle of a window"):  # a document at 2, T = 3
        _core.Trainer(
            _core.Params(3, 2),
            [0, 1, 0, 2, 1, 1],
            seq_length=3,
            targets=[1, 0, 2, 1, 1, 0],
            end=0,
        )
    assert _core.Trainer(
        _core.Params(3, 2), [0, 1, 0, 2], seq_length=2, targets=[1, 0, 2, 0], end=0
    ).documents
    with pytest.raises(ValueError, match="end must be"):
        _core.evaluate(_core.Params(3, 2), [0, 1], targets=[1, 0], end=3)
