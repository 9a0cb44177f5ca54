"""Text from a trained network: Model pairs native parameters with their vocabulary and draws
characters with the native sampler (inverse CDF, temperature, top-p nucleus, optional priming
text). Not here: training (train.py) or the file format (checkpoint.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from charrnn import _core, checkpoint
from charrnn.checkpoint import CheckpointError
from charrnn.data import Vocabulary


def sampling_seed(seed: int, step: int) -> int:
    """A seed for the samples drawn at `step` of a run seeded with `seed`: reproducible, and
    so a resumed run draws the same samples as an uninterrupted one without storing RNG state."""
    return int(np.random.SeedSequence([seed, step]).generate_state(1, np.uint64)[0])


class Model:
    """Parameters (a native Params, float64) and the vocabulary they were trained with."""

    def __init__(self, params: Any, vocab: Vocabulary, start: str | None = None):
        if params.K != vocab.K:
            raise ValueError(f"params have K={params.K} but the vocabulary has {vocab.K} characters")
        self.params = params
        self.vocab = vocab
        self.start = start if start is not None else vocab.chars[0]  # first input when unprimed

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """The parameters stored in a checkpoint (best.npz or last.npz)."""
        arrays, meta = checkpoint.load(path)
        if "vocab" not in arrays:
            raise CheckpointError(f"{str(path)!r} lacks its vocabulary: not a complete checkpoint")
        try:
            vocab = Vocabulary(checkpoint.vocabulary_chars(arrays["vocab"]))
        except ValueError as err:
            raise CheckpointError(f"{str(path)!r} has a broken vocabulary: {err}") from None
        W = arrays.get("W")
        m = W.shape[0] if W is not None and W.ndim == 2 and W.shape[0] == W.shape[1] else 0
        if m <= 0:
            raise CheckpointError(f"{str(path)!r} lacks a usable W matrix")
        params = _core.Params(vocab.K, m)
        checkpoint.fill_params(params, arrays, "", path)
        start = meta.get("start")
        if not (isinstance(start, str) and len(start) == 1 and start in vocab):
            start = None
        return cls(params, vocab, start)

    def sample(
        self,
        n: int = 1000,
        *,
        prime: str | None = None,
        prime_indices: np.ndarray | None = None,
        h0: np.ndarray | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 0,
        include_prime: bool = True,
    ) -> str:
        """n characters drawn one at a time. The network first reads `prime` (default: the
        first character of the training text) from h0 (default zeros); the text returned starts
        with the prime when include_prime is true. Same seed, same text."""
        if prime_indices is None:
            if prime is None:
                prime = self.start
                include_prime = False
            if not isinstance(prime, str) or not prime:
                raise ValueError("prime must be a non-empty string")
            unknown = sorted(set(prime) - set(self.vocab.chars))
            if unknown:
                raise ValueError(
                    f"the priming text has characters the model never saw: {''.join(unknown)!r}"
                )
            prime_indices = self.vocab.encode(prime)
        if h0 is None:
            h0 = np.zeros(self.params.m)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**64:
            raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
        drawn = _core.sample(self.params, h0, prime_indices, int(n), seed=int(seed),
                             temperature=float(temperature), top_p=float(top_p))
        text = self.vocab.decode(drawn)
        return self.vocab.decode(prime_indices) + text if include_prime else text
