"""Pin the losses of seeded LSTM, GRU and documents runs for this build's CPU level, into
tests/data/pins.json (tests/test_pins.py compares against them). Run it once per build level
(x86-64-v3, x86-64-v4) when a change to the core's rounding is deliberate:

    python tools/pin_losses.py
"""

from __future__ import annotations

import json
from pathlib import Path

from charrnn import _core
from charrnn.config import TrainConfig
from charrnn.data import load_corpus
from charrnn.train import Trainer

ROOT = Path(__file__).resolve().parents[1]
PINS = ROOT / "tests" / "data" / "pins.json"
STEPS = 30

# name: (settings, text) -- "corpus" is the first 50,000 characters of the embedded corpus.
RUNS = {
    "lstm2_adam_b4": (
        dict(
            cell="lstm", layers=2, m=32, seed=3, batch=4, seq_length=20, optimizer="adam", eta=2e-3
        ),
        "corpus",
    ),
    "lstm_f32_b8_embedding": (
        dict(
            cell="lstm",
            m=40,
            seed=4,
            batch=8,
            dtype="float32",
            embedding=16,
            optimizer="adam",
            eta=2e-3,
        ),
        "corpus",
    ),
    "gru2_rmsprop_dropout": (
        dict(
            cell="gru", layers=2, m=24, seed=5, batch=2, optimizer="rmsprop", eta=2e-3, dropout=0.1
        ),
        "corpus",
    ),
    "documents_lstm": (
        dict(cell="lstm", m=16, seed=6, batch=8, seq_length=16, documents=True, val_frac=0.1),
        "names",
    ),
}


def texts() -> dict[str, str]:
    return {
        "corpus": load_corpus()[0][:50_000],
        "names": (ROOT / "tests" / "data" / "names.txt").read_text(encoding="utf-8"),
    }


def losses(name: str, text: dict[str, str]) -> dict[str, object]:
    settings, which = RUNS[name]
    trainer = Trainer(text[which], TrainConfig(**settings))
    run, _ = trainer.train(STEPS)
    out: dict[str, object] = {"losses": [float(x).hex() for x in run]}
    if trainer.val_streams is not None:
        out["validation_nats"] = float(trainer.evaluate_validation().nats).hex()
    return out


def main() -> None:
    pins = json.loads(PINS.read_text()) if PINS.exists() else {}
    text = texts()
    pins[_core.ARCH] = {name: losses(name, text) for name in RUNS}
    PINS.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    print(f"pinned {len(RUNS)} runs for {_core.ARCH} in {PINS}")


if __name__ == "__main__":
    main()
