import numpy as np
import pytest
from charrnn.data import load_corpus


@pytest.fixture(scope="session")
def corpus():
    """(text, vocab, encoded) of the embedded Shakespeare corpus."""
    return load_corpus()


@pytest.fixture(scope="session")
def small_text(corpus):
    """A few thousand characters of real text, every character of the corpus kept."""
    return corpus[0][:6000]


@pytest.fixture
def text_file(tmp_path, small_text):
    path = tmp_path / "small.txt"
    path.write_text(small_text, encoding="utf-8")
    return path


CELLS = ("rnn", "lstm", "gru")


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


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


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


@pytest.fixture(scope="session")
def ray_local():
    """A local Ray for the test run, started once: ray.init(address="local", num_cpus=2). The
    Ray tests skip where ray does not import, unless CHARRNN_REQUIRE_RAY=1 (.ci/run), where
    that is a failure."""
    import os

    try:
        import ray
        import ray.tune  # noqa: F401
    except ImportError as err:
        if os.environ.get("CHARRNN_REQUIRE_RAY") == "1":
            pytest.fail(f"CHARRNN_REQUIRE_RAY=1 but ray does not import: {err}")
        pytest.skip(f"ray does not import ({err}); pip install '.[ray]'")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
