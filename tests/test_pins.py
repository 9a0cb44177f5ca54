"""Seeded LSTM, GRU and documents runs give the same losses, bit for bit, as when they were
pinned (tests/data/pins.json, written by tools/pin_losses.py for each CPU level the core is
built for): a refactoring of the Python layer or the bindings must not move them. The vanilla
RNN's pins are in test_train.py."""

import json
import sys
from pathlib import Path

import pytest
from charrnn import _core

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import pin_losses  # noqa: E402

PINS = json.loads(pin_losses.PINS.read_text())


@pytest.fixture(scope="module")
def texts():
    return pin_losses.texts()


@pytest.mark.parametrize("name", sorted(pin_losses.RUNS))
def test_seeded_runs_give_the_pinned_losses(name, texts):
    import os

    if os.environ.get("CHARRNN_SANITIZE"):
        pytest.skip("a sanitizer build rounds differently (tools/sanitize.sh)")
    assert _core.ARCH in PINS, (
        f"no pins for a {_core.ARCH} build: run tools/pin_losses.py on one "
        f"(pinned: {', '.join(PINS)})"
    )
    assert pin_losses.losses(name, texts) == PINS[_core.ARCH][name]
