"""Model: loading checkpoints of every cell (and format-1 files of the previous version),
evaluating a text, exporting to PyTorch's names; PyTorch's own cells on the exported weights
give the native loss and gradients (skipped where torch does not import)."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from charrnn import _core, checkpoint
from charrnn.checkpoint import CheckpointError
from charrnn.model import Model, torch_state_dict
from charrnn.spec import ModelSpec
from charrnn.train import TrainConfig, Trainer
from helpers import CELLS, same_build_as

V1 = Path(__file__).parent / "data" / "v1"


def trained(text, cell, layers=2, m=8, steps=30, **kw):
    trainer = Trainer(text, TrainConfig(cell=cell, layers=layers, m=m, seq_length=10, **kw))
    trainer.train(steps)
    return trainer


def test_format_1_checkpoints_load_sample_and_resume():
    """Files written by charrnn 0.1 (tests/data/v1/README.md): they are one-layer vanilla RNNs,
    and resuming continues exactly as that version did (its losses are in expected.json)."""
    expected = json.loads((V1 / "expected.json").read_text())
    text = (V1 / "text.txt").read_text(encoding="utf-8")
    model = Model.load(V1 / "best.npz")
    assert model.spec == ModelSpec("rnn", K=model.vocab.K, m=8, layers=1)
    assert len(model.sample(40, seed=3)) == 40
    trainer = Trainer.load(V1 / "last.npz", text)
    assert (trainer.step, trainer.config.cell, trainer.config.layers) == (30, "rnn", 1)
    losses, smooth = trainer.train(10)
    if same_build_as(expected["arch"]):  # the pins are bit-exact on the build that made them
        assert [float(x).hex() for x in losses] == expected["resume_losses"]
        assert [float(x).hex() for x in smooth] == expected["resume_smooth"]
    else:
        np.testing.assert_allclose(
            losses, [float.fromhex(x) for x in expected["resume_losses"]], rtol=1e-9
        )


def test_format_1_run_folder_resumes_from_the_cli(tmp_path):
    from charrnn.cli import main

    run = tmp_path / "run"
    run.mkdir()
    for name in ("last.npz", "best.npz"):
        shutil.copy(V1 / name, run / name)
    text = tmp_path / "text.txt"
    shutil.copy(V1 / "text.txt", text)
    assert (
        main(
            [
                "train",
                str(text),
                "--resume",
                str(run),
                "--steps",
                "40",
                "--quiet",
                "--no-gradcheck",
                "--sample-every",
                "10",
            ]
        )
        == 0
    )
    arrays, meta = checkpoint.load(run / "last.npz")
    assert meta["step"] == 40 and meta["spec"]["cell"] == "rnn"
    assert arrays["h_prev"].shape == (1, 1, 8)


@pytest.mark.parametrize("cell", CELLS)
def test_checkpoints_keep_the_spec_and_every_array(tmp_path, small_text, cell):
    trainer = trained(small_text, cell, layers=2)
    trainer.save(tmp_path / "last.npz")
    arrays, meta = checkpoint.load(tmp_path / "last.npz")
    assert meta["spec"] == {
        "cell": cell,
        "layers": 2,
        "m": 8,
        "K": trainer.vocab.K,
        "dtype": "float64",
        "embedding": 0,
    }
    names = trainer.params.names
    assert set(names) | {f"memory_{n}" for n in names} | {f"best_{n}" for n in names} <= set(arrays)
    assert ("c_prev" in arrays) == (cell == "lstm")
    model = Model.load(tmp_path / "last.npz")
    np.testing.assert_array_equal(model.params.flat, trainer.params.flat)
    assert model.describe().startswith("2-layer")


def test_a_checkpoint_whose_spec_and_arrays_disagree_is_refused(tmp_path, small_text):
    trainer = trained(small_text, "lstm")
    trainer.save(tmp_path / "last.npz")
    arrays, meta = checkpoint.load(tmp_path / "last.npz")
    meta["spec"]["cell"] = "gru"
    checkpoint.save(tmp_path / "gru.npz", arrays, meta)
    for load in (Model.load, lambda p: Trainer.load(p, small_text)):
        with pytest.raises(CheckpointError, match="disagree"):
            load(tmp_path / "gru.npz")
    meta["spec"]["cell"] = "lstm"
    meta["spec"]["layers"] = 0
    checkpoint.save(tmp_path / "zero.npz", arrays, meta)
    with pytest.raises(CheckpointError, match="spec"):
        Model.load(tmp_path / "zero.npz")


@pytest.mark.parametrize("cell", CELLS)
def test_evaluate_is_the_mean_next_character_loss(small_text, cell):
    trainer = trained(small_text, cell)
    model = trainer.model()
    text = small_text[:700]
    result = model.evaluate(text)
    # The same predictions as one forward pass over the whole text from a zero state.
    encoded = model.vocab.encode(text)
    total = _core.loss(model.params, encoded[:-1], encoded[1:])
    assert result.characters == len(text) - 1
    assert result.nats == pytest.approx(total / (len(text) - 1), rel=1e-12)
    assert result.bits == pytest.approx(result.nats / math.log(2))
    assert result.perplexity == pytest.approx(math.exp(result.nats))
    with pytest.raises(ValueError, match="'€'"):
        model.evaluate("ab€")
    with pytest.raises(ValueError, match="at least 2"):
        model.evaluate("a")


@pytest.mark.parametrize("cell", CELLS)
def test_export_names_every_array_as_pytorch_does(tmp_path, small_text, cell):
    model = trained(small_text, cell, layers=3).model()
    model.export(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as npz:
        keys = set(npz.files)
        vocabulary = npz["vocabulary"]
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    expected = {"decoder.weight", "decoder.bias", "vocabulary", "cell"}
    for k in range(3):
        expected |= {
            f"rnn.weight_ih_l{k}",
            f"rnn.weight_hh_l{k}",
            f"rnn.bias_ih_l{k}",
            f"rnn.bias_hh_l{k}",
        }
    assert keys == expected
    assert [chr(c) for c in vocabulary] == model.vocab.chars
    sd = torch_state_dict(model.params)
    assert sd["rnn.weight_ih_l0"].shape == (G * 8, model.vocab.K)
    assert sd["rnn.weight_ih_l1"].shape == (G * 8, 8)
    with pytest.raises(ValueError, match="unknown export format"):
        model.export(tmp_path / "x.npz", format="onnx")


# --- PyTorch as an independent implementation ------------------------------------------------


def torch_model(params):
    """torch.nn.RNN/LSTM/GRU + Linear in float64 holding the exported weights."""
    torch = pytest.importorskip("torch")
    sd = torch_state_dict(params)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[params.cell]
    rnn = cls(
        params.spec["embedding"] or params.K, params.m, params.layers, batch_first=True
    ).double()
    decoder = torch.nn.Linear(params.m, params.K).double()
    rnn.load_state_dict({k[4:]: torch.tensor(v) for k, v in sd.items() if k.startswith("rnn.")})
    decoder.load_state_dict(
        {k[8:]: torch.tensor(v) for k, v in sd.items() if k.startswith("decoder.")}
    )
    return torch, rnn, decoder


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers,B,D", [(1, 1, 0), (2, 3, 0), (3, 1, 0), (1, 1, 3), (2, 3, 4)])
def test_pytorch_cells_agree_on_loss_and_gradients(cell, layers, B, D):
    """D > 0: an embedding, exported as nn.Embedding(K, D) in front of the cells."""
    K, m, T = 7, 5, 6
    rng = np.random.default_rng(layers * 10 + B)
    params = _core.Params.random(K, m, sig=0.3, seed=3, cell=cell, layers=layers, embedding=D)
    params.flat = params.flat + rng.normal(0, 0.2, params.flat.size)  # biases non-zero too
    x, y = rng.integers(0, K, (B, T)), rng.integers(0, K, (B, T))
    h0 = rng.normal(0, 0.5, (layers, B, m))
    c0 = rng.normal(0, 0.5, (layers, B, m)) if cell == "lstm" else None
    native = _core.forward_backward(params, x, y, h0, c0)

    torch, rnn, decoder = torch_model(params)
    if D:
        embed = torch.nn.Embedding(K, D).double()
        embed.load_state_dict(
            {"weight": torch.tensor(torch_state_dict(params)["embedding.weight"])}
        )
        inputs = embed(torch.tensor(x))  # (B, T, D)
    else:
        inputs = torch.nn.functional.one_hot(torch.tensor(x), K).double()  # (B, T, K)
    state = torch.tensor(h0) if c0 is None else (torch.tensor(h0), torch.tensor(c0))
    out, _ = rnn(inputs, state)
    logits = decoder(out)  # (B, T, K)
    loss = (
        torch.nn.functional.cross_entropy(
            logits.reshape(-1, K), torch.tensor(y).reshape(-1), reduction="sum"
        )
        / B
    )
    loss.backward()
    assert native.loss == pytest.approx(loss.item(), rel=1e-10)
    grads = torch_state_dict(native.grads)
    torch_grads = {f"rnn.{k}": p.grad.numpy() for k, p in rnn.named_parameters()}
    torch_grads |= {f"decoder.{k}": p.grad.numpy() for k, p in decoder.named_parameters()}
    if D:
        torch_grads["embedding.weight"] = embed.weight.grad.numpy()
    for key, g in torch_grads.items():
        if key.startswith("rnn.bias_hh"):
            # charrnn has one bias per gate: bias_ih and bias_hh get the same gradient, except
            # for a gru's n rows, whose bias_hh is b_hn (bn), inside r * (W_n h + b_hn).
            mine = grads[key.replace("bias_hh", "bias_ih")].copy()
            if cell == "gru":
                mine[2 * m :] = grads[key][2 * m :]
            np.testing.assert_allclose(mine, g, rtol=1e-9, atol=1e-12, err_msg=key)
        else:
            np.testing.assert_allclose(grads[key], g, rtol=1e-9, atol=1e-12, err_msg=key)
    top = out.detach().numpy()  # (B, T, m), the top layer
    mine = native.hs[-1]  # (B, T, m)
    np.testing.assert_allclose(mine, top, rtol=1e-12, atol=1e-13, err_msg="top-layer h_t")
