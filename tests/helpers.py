"""Helpers the tests import (`from helpers import ...`); pytest's `pythonpath` puts tests/ on
the path. Not fixtures: those stay in conftest.py, which tests never import."""

import numpy as np
import pytest

CELLS = ("rnn", "lstm", "gru")


def slow_when(cases, predicate):
    """`cases` for parametrize, those for which predicate(*case) holds marked slow: the fast loop
    (`pytest -m "not slow"`) runs the rest, CI all. Test ids are unchanged."""
    cases = [c if isinstance(c, tuple) else (c,) for c in cases]
    return [pytest.param(*c, marks=pytest.mark.slow if predicate(*c) else ()) for c in cases]


def same_build_as(arch: str) -> bool:
    """Whether this core rounds as a Release build for `arch` does: bit-exact pins hold only
    there (tools/sanitize.sh builds at -O1 with other code generation, and says so)."""
    import os

    from charrnn import _core

    return _core.ARCH == arch and not os.environ.get("CHARRNN_SANITIZE")


def to_native(ref):
    """A native float64 Params holding the arrays of a reference Params (any model)."""
    from charrnn import _core

    params = _core.Params(ref.K, ref.m, cell=ref.cell, layers=ref.layers, embedding=ref.embedding)
    for name in ref:
        params[name] = ref[name]
    return params


def split_run(text, config, first_steps, second_steps, path, overrides=None):
    """Train `config` straight for first_steps + second_steps updates, and again in two runs
    with a checkpoint written to `path` and loaded between them (with `overrides`).

    Returns (straight, resumed, straight_losses, split_losses); the losses are float arrays of
    every update, the split ones joined."""
    from charrnn import Trainer

    straight = Trainer(text, config)
    expected, _ = straight.train(first_steps + second_steps)
    first = Trainer(text, config)
    part1, _ = first.train(first_steps)
    first.save(path)
    resumed = Trainer.load(path, text, overrides=overrides)
    part2, _ = resumed.train(second_steps)
    return straight, resumed, expected, np.concatenate([part1, part2])
