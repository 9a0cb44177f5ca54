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
