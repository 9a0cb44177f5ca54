"""Fixtures only; the helpers tests import live in helpers.py."""

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


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


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
