"""A trained network as a user holds it: Model pairs native parameters (any cell, any depth)
with their vocabulary, and samples text (inverse CDF, temperature, top-p nucleus, priming
text) or documents, evaluates a text or its documents (nats and bits per character), and
exports its weights as a PyTorch state_dict. Not here: training (train.py) or the file format
(checkpoint.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from charrnn import _core, checkpoint
from charrnn.data import (
    END,
    EVAL_DOCUMENT_STREAMS,
    EVAL_DOCUMENT_WINDOW,
    Streams,
    Vocabulary,
    documents_layout,
    split_documents,
)
from charrnn.machine import available_cores
from charrnn.spec import Evaluation, ModelSpec

if TYPE_CHECKING:
    from charrnn._core import Params, Params32

__all__ = [
    "EXPORT_FORMATS",
    "Model",
    "evaluate_streams",
    "sampling_seed",
    "torch_state_dict",
]

EXPORT_FORMATS = ("torch",)
# A document drawn without its end symbol stops at this many characters (sample_documents).
MAX_DOCUMENT_LENGTH = 1000
# A layer's arrays as torch.nn.RNN/LSTM/GRU name them (suffixed _l{k}, k from 0).
TORCH_NAMES = {"W": "weight_hh", "U": "weight_ih", "b": "bias_ih"}


def sampling_seed(seed: int, step: int) -> int:
    """A seed for the samples drawn at `step` of a run seeded with `seed`: reproducible, and
    so a resumed run draws the same samples as an uninterrupted one without storing RNG state."""
    return int(np.random.SeedSequence([seed, step]).generate_state(1, np.uint64)[0])


def evaluate_streams(
    params: Params | Params32, streams: Streams, threads: int | None = None
) -> Evaluation:
    """The mean loss of native params over the predictions of streams (data.Streams), natively
    with the GIL released, on `threads` threads (default: available_cores(); the result does
    not depend on it)."""
    total, n = _core.evaluate(
        params,
        streams.text,
        **streams.native(),
        threads=available_cores() if threads is None else threads,
    )
    return Evaluation(nats=total / n, characters=int(n))


def torch_state_dict(params: Params | Params32) -> dict[str, np.ndarray]:
    """The weights of native params under the names torch.nn.RNN/LSTM/GRU (as `rnn`, input size
    K: one-hot characters, or D after an nn.Embedding(K, D) as `embedding`) and torch.nn.Linear
    (as `decoder`) give them; k counts layers from 0.
    charrnn keeps one bias per gate where PyTorch has two (bias_ih + bias_hh): the whole bias goes
    to bias_ih, bias_hh is zero, except for a gru's b_hn (bn), which multiplies r in PyTorch's
    form too and goes to the n rows of bias_hh."""
    out: dict[str, np.ndarray] = {}
    for entry in params.layout:  # b_l comes before bn_l in the layout
        name, role, k = entry["name"], entry["role"], entry["layer"] - 1
        array = np.array(params[name], dtype=np.float64)
        if role == "E":  # nn.Embedding's weight is (K, D): row x is character x's vector
            out["embedding.weight"] = array.T.copy()
        elif role == "V":
            out["decoder.weight"] = array
        elif role == "c":
            out["decoder.bias"] = array
        elif role == "bn":
            out[f"rnn.bias_hh_l{k}"][2 * params.m :] = array
        else:
            out[f"rnn.{TORCH_NAMES[role]}_l{k}"] = array
            if role == "b":
                out[f"rnn.bias_hh_l{k}"] = np.zeros_like(array)
    return out


class Model:
    """Parameters (a native Params, float64, of any cell and depth) and the vocabulary they were
    trained with: what a user samples from, evaluates and exports.

    Args:
        params: A native charrnn.Params (float64).
        vocab: The vocabulary it was trained with (vocab.K == params.K).
        start: The first input when sampling unprimed (default: the vocabulary's first
            character; a checkpoint stores the training text's first character).
        documents: Whether it was trained on documents, one per line
            (TrainConfig.documents): sample_text then writes documents.

    Raises:
        ValueError: params.K differs from vocab.K.
    """

    def __init__(
        self, params: Params, vocab: Vocabulary, start: str | None = None, documents: bool = False
    ):
        if params.K != vocab.K:
            raise ValueError(
                f"params have K={params.K} but the vocabulary has {vocab.K} characters"
            )
        self.params = params
        """The native float64 charrnn.Params."""
        self.vocab = vocab
        """The Vocabulary the model was trained with."""
        self.start = start if start is not None else vocab.chars[0]  # first input when unprimed
        """The first input when sampling unprimed (one character)."""
        self.documents = documents
        """Whether the model was trained on documents, one per line."""

    @property
    def spec(self) -> ModelSpec:
        """What the model is: cell, K, m, layers, embedding."""
        return ModelSpec.from_dict(self.params.spec)

    @property
    def n_params(self) -> int:
        """The number of parameters (the length of params.flat)."""
        return int(self.params.flat.size)

    def describe(self) -> str:
        """A one-line description, e.g. '2-layer LSTM, m = 128, 246,348 parameters'."""
        return f"{self.spec.describe()}, {self.n_params:,} parameters"

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """The parameters stored in a checkpoint (best.npz or last.npz), in float64.

        The model is the one the file's spec names (format 1 files: the one-layer vanilla RNN).

        Raises:
            FileNotFoundError: No such file.
            IsADirectoryError: path is a directory.
            CheckpointError: Not a readable charrnn checkpoint, an unknown format version,
                pickled content, a broken vocabulary, or arrays that do not fit the spec.
        """
        arrays, meta = checkpoint.load(path)
        vocab = checkpoint.read_vocabulary(arrays, meta, path)
        params = checkpoint.read_params(arrays, meta, path)
        start = meta.get("start")
        if not (isinstance(start, str) and len(start) == 1 and start in vocab):
            start = None
        config = meta.get("config")
        documents = isinstance(config, dict) and config.get("documents") is True
        return cls(params, vocab, start, documents=documents)

    def sample(
        self,
        n: int = 1000,
        *,
        prime: str | None = None,
        prime_indices: np.ndarray | None = None,
        h0: np.ndarray | None = None,
        c0: np.ndarray | None = None,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 0,
        include_prime: bool = True,
        greedy: bool = False,
    ) -> str:
        """n characters drawn one at a time. Same seed, same text.

        Args:
            n: Characters to draw, >= 0.
            prime: Text the network reads first (default: `start`, not returned).
            prime_indices: Or the prime as character indices (int, 1-D).
            h0: Initial hidden state, float, (L, m) or, for one layer, (m,); None: zeros.
            c0: lstm only: initial cell state, shaped as h0; None: zeros.
            temperature: A number > 0: below 1 sharper, above 1 flatter.
            top_p: Draw only from the most likely characters holding this much probability,
                in (0, 1].
            seed: Seed of the draws, in [0, 2**64).
            include_prime: Whether the text returned starts with the prime.
            greedy: The most likely character every time (temperature and seed then change
                nothing).

        Returns:
            The text: the prime (if include_prime) and then n characters.

        Raises:
            ValueError: An empty prime or one with characters the model never saw; n or seed
                not a whole number in range; temperature or top_p out of range; a state of
                the wrong shape.
            IndexError: A prime index outside [0, K).
        """
        if greedy:
            top_p = float(np.nextafter(0.0, 1.0))  # the smallest nucleus: the argmax alone
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
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"n must be an integer >= 0, got {n!r}")
        if (
            isinstance(seed, bool)
            or not isinstance(seed, (int, np.integer))
            or not 0 <= seed < 2**64
        ):
            raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
        drawn = _core.sample(
            self.params,
            h0,
            prime_indices,
            int(n),
            seed=int(seed),
            temperature=float(temperature),
            top_p=float(top_p),
            c0=c0,
        )
        text = self.vocab.decode(drawn)
        return self.vocab.decode(prime_indices) + text if include_prime else text

    def _end(self) -> int:
        """The index of the end-of-document symbol; ValueError if the vocabulary lacks it."""
        if END not in self.vocab:
            raise ValueError(
                "this model's vocabulary has no line end, the end-of-document "
                "symbol: it was not trained on documents (charrnn train "
                "--documents)"
            )
        return self.vocab.index(END)

    def sample_documents(
        self,
        count: int | None = None,
        *,
        chars: int | None = None,
        max_length: int = MAX_DOCUMENT_LENGTH,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int = 0,
        greedy: bool = False,
    ) -> list[str]:
        """New documents: `count` of them, or as many as it takes to reach `chars` characters.

        Each starts from a zero state with the end-of-document symbol (the line end) as its
        first input and ends when the model draws that symbol again (not included), or after
        max_length characters. Document i is drawn with sampling_seed(seed, i): same seed,
        same documents. temperature, top_p and greedy as in sample.

        Returns:
            The documents (str each, without line ends).

        Raises:
            ValueError: Both or neither of count and chars; a count, chars or max_length that
                is not a whole number in range; a vocabulary without the line end (a model not
                trained on documents).
        """
        if (count is None) == (chars is None):
            raise ValueError("give count or chars")
        for name, value in (("count", count), ("chars", chars), ("max_length", max_length)):
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, (int, np.integer))
                or value < (1 if name == "max_length" else 0)
            ):
                raise ValueError(
                    f"{name} must be a whole number >= "
                    f"{1 if name == 'max_length' else 0}, got {value!r}"
                )
        end = self._end()
        if greedy:
            top_p = float(np.nextafter(0.0, 1.0))  # the argmax alone
        documents: list[str] = []
        total = 0
        while len(documents) < count if count is not None else total < (chars or 0):
            drawn = _core.sample(
                self.params,
                None,
                np.array([end]),
                max_length + 1,
                seed=sampling_seed(seed, len(documents)),
                temperature=float(temperature),
                top_p=float(top_p),
                stop=end,
            )
            doc = self.vocab.decode(
                drawn[:-1] if len(drawn) and drawn[-1] == end else drawn[:max_length]
            )
            documents.append(doc)
            total += len(doc) + 1
        return documents

    def sample_text(self, n: int, **options: Any) -> str:
        """n characters as the model writes them: sample(n, **options), or, for a model trained
        on documents, new documents one per line until there are at least n characters.

        Raises:
            ValueError: As sample or sample_documents.
        """
        if self.documents:
            return END.join(self.sample_documents(chars=n, **options))
        return self.sample(n, **options)

    def evaluate(
        self, text: str, documents: bool = False, threads: int | None = None
    ) -> Evaluation:
        """How well the model predicts a text: the mean loss over its len(text) - 1
        next-character predictions, from a zero state (natively, the GIL released).

        Args:
            text: The text.
            documents: The text holds one document per line: each is predicted from a zero
                state, its end symbol counted as a predicted character (as makemore does).
            threads: Threads to run on (default: every core this process may use); the result
                is the same for any number.

        Returns:
            An Evaluation: nats and bits per character, perplexity, the number of
            predictions (characters) and, with documents=True, of documents.

        Raises:
            TypeError: text is not a str.
            ValueError: A text of fewer than 2 characters (with documents: no document), a
                character outside the vocabulary (named), or, with documents, a vocabulary
                without the line end.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if documents:
            end = self._end()
            docs = split_documents(text)
            if not docs:
                raise ValueError("the text holds no document (every line is empty)")
            streams = documents_layout(
                [self.vocab.encode(d) for d in docs],
                end,
                min(len(docs), EVAL_DOCUMENT_STREAMS),
                EVAL_DOCUMENT_WINDOW,
            )
            result = evaluate_streams(self.params, streams, threads)
            return dataclasses.replace(result, documents=len(docs))
        if len(text) < 2:
            raise ValueError(
                f"the text has {len(text)} character(s); evaluating needs at least 2 "
                f"(one to read, one to predict)"
            )
        return evaluate_streams(self.params, Streams(self.vocab.encode(text)), threads)

    def inspect(self, text: str, *, top_k: int = 5, gates: bool = True) -> dict[str, Any]:
        """The arrays behind `charrnn inspect`'s page, for a notebook: the model run over text
        from a zero state (natively, in chunks with the state carried, float64).

        Characters outside the vocabulary are skipped (their count is in 'unknown').

        Returns:
            A dict; position t (of N - 1) reads text[t] and predicts text[t + 1]:
            'text' (the text read, str), 'hs' (L, N-1, m), 'cs' (L, N-1, m) for an lstm else
            None, 'gates' (L, G, N-1, m) (lstm [i f g o], gru [r z n]; None for rnn or
            gates=False), 'top_index' and 'top_p' (N-1, top_k), 'loss' (nats), 'entropy'
            (nats), 'rank' (N-1,), 'unknown' (a Counter of the skipped characters).

        Raises:
            TypeError: text is not a str.
            ValueError: Fewer than 2 characters the model knows; top_k outside [1, K].
        """
        from charrnn.inspect import analysis

        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        codes, kept, unknown = analysis.encode_text(self.vocab, text)
        if len(codes) < 2:
            raise ValueError(
                f"the text has {len(codes)} character(s) the model knows; inspecting needs "
                f"at least 2 (one to read, one to predict)"
            )
        arrays = analysis.inspect_arrays(self.params, codes, top_k=top_k, gates=gates)
        return {"text": kept, **arrays, "unknown": unknown}

    def export(self, path: str | Path, format: str = "torch") -> None:
        """Write the weights for another framework, atomically.

        format "torch": an .npz of torch_state_dict() (float64 arrays named as
        torch.nn.RNN/LSTM/GRU and torch.nn.Linear name theirs) plus `vocabulary` (int32 code
        points in index order) and `cell` (a string array: 'rnn', 'lstm' or 'gru').

        Raises:
            ValueError: An unknown format.
            OSError: The file cannot be written.
        """
        if format not in EXPORT_FORMATS:
            raise ValueError(
                f"unknown export format {format!r}; choose from {', '.join(EXPORT_FORMATS)}"
            )
        arrays = torch_state_dict(self.params)
        arrays["vocabulary"] = checkpoint.vocabulary_array(self.vocab.chars)
        arrays["cell"] = np.array(self.params.cell)
        checkpoint.save_npz(path, arrays)
