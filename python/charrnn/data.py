"""Text in, integer indices out: read a UTF-8 file, build the sorted character vocabulary, encode
and decode, locate the bundled Shakespeare corpus, and lay out a file of documents (one per
line) for training and evaluation, and split a text into the part trained on and the held-out
tail (split_sizes).

Characters are Unicode code points, not bytes. Not here: the model or training (see
charrnn.reference and the native core).
"""

from __future__ import annotations

import heapq
import importlib.resources
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from charrnn.config import TrainConfig

__all__ = [
    "END",
    "NEWLINE_MODES",
    "Streams",
    "Vocabulary",
    "default_corpus_path",
    "document_streams",
    "documents_layout",
    "load_corpus",
    "normalize_newlines",
    "read_text",
    "split_documents",
    "split_sizes",
    "split_text",
    "TextSplit",
]

# How line ends are read: "lf" as editors show the text (CRLF and CR become LF, a leading
# byte-order mark is dropped), "keep" every character as stored.
NEWLINE_MODES = ("lf", "keep")
# Documents evaluated side by side, and the window each is read in (any values give the same
# loss up to rounding: each document is its own sequence from a zero state).
EVAL_DOCUMENT_STREAMS, EVAL_DOCUMENT_WINDOW = 64, 64


def normalize_newlines(text: str) -> str:
    """The text with CRLF and lone CR as LF, and a leading BOM (U+FEFF) dropped."""
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | Path, newline: str = "lf") -> str:
    """Return the whole file decoded as UTF-8.

    Args:
        path: The file.
        newline: "lf" (default) reads CRLF and CR line ends as LF and drops a leading
            byte-order mark; "keep" returns every character as stored.

    Returns:
        The text (at least one character).

    Raises:
        FileNotFoundError: No such file.
        IsADirectoryError: path is a directory.
        ValueError: The file is not UTF-8 (the message names the byte and line), is empty
            (or holds only a byte-order mark), or newline is not "lf" or "keep".
    """
    if newline not in NEWLINE_MODES:
        raise ValueError(f"newline must be one of {', '.join(NEWLINE_MODES)}, got {newline!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"text file not found: {str(path)!r}")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory; give the path of a UTF-8 text file")
    raw = path.read_bytes()
    if not raw:
        raise ValueError(f"{str(path)!r} is empty; a character model needs some text to learn from")
    try:
        text = raw.decode("utf-8")  # strict: a corrupt byte is an error, never silently replaced
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ValueError(
            f"{str(path)!r} is not UTF-8 text: byte 0x{raw[err.start]:02x} at byte offset "
            f"{err.start} (line {line}) cannot be decoded ({err.reason}); "
            f"convert the file to UTF-8 first, e.g. with iconv"
        ) from None
    if newline == "lf":
        text = normalize_newlines(text)
        if not text:
            raise ValueError(
                f"{str(path)!r} holds only a byte-order mark; a character model needs "
                f"some text to learn from"
            )
    return text


class Vocabulary:
    """The distinct characters of a text, sorted by code point; a character's index is its rank.

    Sorting makes the mapping independent of the order characters first appear in, so the same
    text always gives the same indices (min-char-rnn used set order, which is not reproducible).
    Characters are Unicode code points, not bytes. `len(vocab)` is K; `ch in vocab` tests one
    character.

    Args:
        chars: The characters, distinct and sorted by code point (from_text makes them).

    Raises:
        ValueError: No characters, an entry that is not one character, or characters that are
            not distinct and sorted.
    """

    def __init__(self, chars: Iterable[str]):
        chars = list(chars)
        if not chars:
            raise ValueError("a vocabulary needs at least one character")
        for ch in chars:
            if not isinstance(ch, str) or len(ch) != 1:
                raise ValueError(f"vocabulary entries must be single characters, got {ch!r}")
        if any(a >= b for a, b in zip(chars, chars[1:])):
            raise ValueError("vocabulary characters must be distinct and sorted by code point")
        self.chars: list[str] = chars
        """The characters, sorted by code point: chars[i] has index i."""
        self._index = {ch: i for i, ch in enumerate(chars)}
        # Code points in ascending order (the same order as chars), for a vectorised encode.
        self._codes = np.array([ord(ch) for ch in chars], dtype=np.uint32)  # (K)

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The vocabulary of a text: its distinct characters, sorted.

        Raises:
            ValueError: An empty text.
        """
        if not text:
            raise ValueError("cannot build a vocabulary from empty text")
        return cls(sorted(set(text)))

    @property
    def K(self) -> int:
        """Vocabulary size."""
        return len(self.chars)

    def __len__(self) -> int:
        return len(self.chars)

    def __contains__(self, ch: object) -> bool:
        return ch in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocabulary):
            return NotImplemented
        return self.chars == other.chars

    def __repr__(self) -> str:
        return f"Vocabulary(K={self.K}, chars={''.join(self.chars)!r})"

    def index(self, ch: str) -> int:
        """The index of one character, in [0, K).

        Raises:
            ValueError: The character is not in the vocabulary (named with its code point).
        """
        try:
            return self._index[ch]
        except KeyError:
            msg = f"character {ch!r} (U+{ord(ch):04X}) is not in the vocabulary"
            raise ValueError(msg) from None

    def encode(self, text: str) -> np.ndarray:
        """The indices of the characters of a text.

        Returns:
            int32 array of shape (len(text),), each in [0, K).

        Raises:
            ValueError: A character that is not in the vocabulary (named, with its position).
        """
        # One code point per uint32: a vectorised lookup, ~100x faster than a dict per character
        # on a 1 MB corpus.
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)  # (n)
        idx = np.searchsorted(self._codes, codes)  # position where each code would be inserted
        idx_clamped = np.minimum(idx, self.K - 1)
        unknown = self._codes[idx_clamped] != codes
        if unknown.any():
            pos = int(np.argmax(unknown))
            ch = text[pos]
            raise ValueError(
                f"character {ch!r} (U+{ord(ch):04X}) at position {pos} is not in the vocabulary"
            )
        return idx.astype(np.int32)

    def decode(self, indices: Iterable[int] | np.ndarray) -> str:
        """The text for a sequence of indices.

        Args:
            indices: Integer indices, 1-D (a list or an array of any integer dtype).

        Raises:
            IndexError: An index outside [0, K).
            ValueError: Indices that are not 1-D or not integers.
        """
        idx = np.asarray(indices)
        if idx.size == 0:
            return ""
        if idx.ndim != 1:
            raise ValueError(f"decode expects a 1-D sequence of indices, got shape {idx.shape}")
        if idx.dtype.kind not in "iu":
            raise ValueError(f"decode expects integer indices, got dtype {idx.dtype}")
        bad = (idx < 0) | (idx >= self.K)
        if bad.any():
            pos = int(np.argmax(bad))
            raise IndexError(
                f"index {int(idx[pos])} at position {pos} is outside the vocabulary [0, {self.K})"
            )
        chars = self.chars
        return "".join([chars[i] for i in idx.tolist()])


def default_corpus_path() -> Path:
    """Path of the bundled corpus, shakespeare.txt (about 1 MB of ASCII, 76 distinct characters).

    Looked up inside the installed package (charrnn/data/shakespeare.txt) first, then in the
    source tree's data/ directory, so it works both installed and from a checkout.

    Raises:
        FileNotFoundError: Neither place has it (the message lists where it looked).
    """
    candidates: list[Path] = []
    try:
        packaged = importlib.resources.files("charrnn") / "data" / "shakespeare.txt"
        if isinstance(packaged, Path):  # on disk (not inside a zip): usable as a plain path
            candidates.append(packaged)
    except (ImportError, TypeError, ValueError):
        pass
    candidates.append(Path(__file__).resolve().parents[2] / "data" / "shakespeare.txt")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(repr(str(c)) for c in candidates)
    raise FileNotFoundError(
        f"the bundled corpus shakespeare.txt was not found (looked in {tried}); "
        f"reinstall charrnn or pass the path of a text file explicitly"
    )


def load_corpus(
    path: str | Path | None = None, newline: str = "lf"
) -> tuple[str, Vocabulary, np.ndarray]:
    """Read a text file and encode it with its own vocabulary.

    Args:
        path: A UTF-8 text file; None: the bundled corpus (default_corpus_path()).
        newline: As read_text: "lf" or "keep".

    Returns:
        A tuple (text, vocab, encoded): the text (str), its Vocabulary, and encoded, an int32
        array of shape (len(text),) holding the index of each character in vocab.

    Raises:
        FileNotFoundError: No such file (or no bundled corpus).
        IsADirectoryError: path is a directory.
        ValueError: As read_text: not UTF-8, empty, or an unknown newline mode.
    """
    text = read_text(default_corpus_path() if path is None else path, newline)
    vocab = Vocabulary.from_text(text)
    return text, vocab, vocab.encode(text)


# --- documents ----------------------------------------------------------------------------------
# A file of documents holds one per line (names, tweets). The line end is the end-of-document
# symbol: it is what the model predicts after a document's last character, and what it reads
# first, from a zero state, to predict a document's first character (as makemore's '.' does).
END = "\n"


def split_documents(text: str) -> list[str]:
    """The documents of a text, one per line (str each, without its line end); empty lines
    hold none and are skipped."""
    return [line for line in text.split(END) if line]


@dataclass(frozen=True)
class Streams:
    """What the native training loop and evaluation read (cpp/train/streams.hpp): a plain text
    (targets None: each character's target is the next one), or a documents layout from
    document_streams (targets -1 where nothing is predicted; the state zeroed where a window
    begins with `start`) made for windows of `window`."""

    text: np.ndarray
    """The character indices read, int32, 1-D (B streams of equal length, side by side)."""
    targets: np.ndarray | None = None
    """Documents: the target of each entry of text, int32, -1 where nothing is predicted;
    None for a plain text."""
    start: int = -1
    """Documents: the start (end-of-document) symbol, where a stream's state is zeroed."""
    batch: int = 1
    """Streams read side by side (B)."""
    window: int = 512
    """The window length the layout was made for (a plain text: characters per pass)."""

    @property
    def predictions(self) -> int:
        """Characters predicted in one pass."""
        if self.targets is None:
            return (len(self.text) // self.batch - 1) * self.batch
        return int(np.count_nonzero(self.targets >= 0))

    def native(self) -> dict:
        """The keywords of _core.evaluate (and, but for chunk and batch, _core.Trainer)."""
        return {
            "chunk": self.window,
            "targets": self.targets,
            "start": self.start,
            "batch": self.batch,
        }


def documents_layout(documents: Sequence[np.ndarray], end: int, B: int, T: int) -> Streams:
    """document_streams as Streams (batch B, window T, start `end`)."""
    text, targets = document_streams(documents, end, B, T)
    return Streams(text, targets, end, B, T)


def document_streams(
    documents: Sequence[np.ndarray], end: int, B: int, T: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lay encoded documents out as B streams of windows of T for the native loops (see
    cpp/train/streams.hpp): (text, targets), int32 of equal length B S T.

    A document d_1 .. d_k reads (end, d_1, .., d_k) and predicts (d_1, .., d_k, end): k + 1
    predictions in ceil((k + 1) / T) windows, the first beginning with `end` (where the state
    is zeroed), the last padded to T with inputs `end` and targets -1 (nothing predicted). So
    no window mixes two documents' context. Documents are dealt in order, each to the stream
    with the fewest windows so far (the first such), and every stream is filled to the longest
    one's S windows with windows of padding.

    Args:
        documents: Each an int array of character indices (1-D).
        end: The index of the end-of-document symbol (the line end).
        B: Streams (the batch).
        T: The window length (seq_length).

    Raises:
        ValueError: B < 1 or T < 1.
    """
    if B < 1 or T < 1:
        raise ValueError(f"need B >= 1 and T >= 1, got B={B}, T={T}")
    streams: list[list[np.ndarray]] = [[] for _ in range(B)]
    windows = [0] * B
    heap = [(0, j) for j in range(B)]  # (windows so far, stream)
    for doc in documents:
        n = len(doc) + 1  # predictions
        w = -(-n // T)
        inputs = np.full(w * T, end, dtype=np.int32)
        targets = np.full(w * T, -1, dtype=np.int32)
        inputs[1:n] = doc
        targets[: n - 1] = doc
        targets[n - 1] = end
        _, j = heapq.heappop(heap)
        streams[j].append(np.stack([inputs, targets]))
        windows[j] += w
        heapq.heappush(heap, (windows[j], j))
    S = max(windows)
    out = np.empty((2, B, S * T), dtype=np.int32)
    out[0], out[1] = end, -1  # windows of padding
    for j, parts in enumerate(streams):
        if parts:
            laid = np.concatenate(parts, axis=1)
            out[:, j, : laid.shape[1]] = laid
    return out[0].reshape(-1), out[1].reshape(-1)


def split_sizes(n: int, config: TrainConfig) -> tuple[int, int]:
    """(training characters, validation characters) of a text of n: the last val_frac of it,
    rounded, is held out (documents: n documents, the last val_frac of them). ValueError when
    either part is too short to use."""
    if config.documents:
        return _document_split(n, config)
    T = config.seq_length
    n_val = int(round(config.val_frac * n))
    if config.val_frac > 0 and n_val < T + 1:
        raise ValueError(
            f"--val-frac {config.val_frac:g} holds out {n_val} of the text's {n} characters, fewer "
            f"than one sequence (seq_length + 1 = {T + 1}); use a larger fraction or a longer text"
        )
    needed = config.batch * (T + 1)
    if n - n_val < needed:
        part = "the text" if not n_val else "the training part of the text"
        raise ValueError(
            f"{part} has {n - n_val} characters, but training needs at least {needed} "
            f"(batch * (seq_length + 1)); use a longer text or a smaller --seq-length"
        )
    return n - n_val, n_val


def _document_split(n: int, config: TrainConfig) -> tuple[int, int]:
    n_val = int(round(config.val_frac * n))
    if config.val_frac > 0 and n_val < 1:
        raise ValueError(
            f"--val-frac {config.val_frac:g} holds out none of the text's {n} "
            f"documents; use a larger fraction or more documents"
        )
    if n - n_val < config.batch:
        raise ValueError(
            f"{'the training part of ' if n_val else ''}the text has {n - n_val} "
            f"document(s), fewer than --batch {config.batch} (a stream each); use "
            f"more documents or a smaller --batch"
        )
    return n - n_val, n_val


@dataclass(eq=False)
class TextSplit:
    """A text as training reads it: encoded, split into the part trained on and the held-out
    tail, and the streams the native loops read from each (Streams)."""

    encoded: np.ndarray
    """The whole text's character indices."""
    documents: list[str] | None
    """The documents, one per line (TrainConfig.documents), else None."""
    train_encoded: np.ndarray | None
    """The part trained on (None for documents: see train_streams)."""
    val_encoded: np.ndarray | None
    """The held-out tail, or None (and None for documents)."""
    train_streams: Streams
    """What the training loop reads: batch streams over the training part."""
    val_streams: Streams | None
    """What validation reads, from a zero state, or None without a split."""
    n_val: int
    """Characters (documents) held out."""


def split_text(text: str, vocab: Vocabulary, config: TrainConfig) -> TextSplit:
    """The text split for training by config (val_frac, batch, seq_length, documents, seed).
    Documents: the held-out tail is the last val_frac of them, and the training documents are
    dealt to the batch's streams in an order shuffled once by the seed (a file of names is
    often sorted).

    Raises:
        ValueError: As split_sizes; a character outside vocab.
    """
    c = config
    encoded = vocab.encode(text)
    if not c.documents:
        n_train, n_val = split_sizes(len(text), c)
        train, val = encoded[:n_train], (encoded[n_train:] if n_val else None)
        return TextSplit(
            encoded,
            None,
            train,
            val,
            Streams(train, batch=c.batch),
            Streams(val) if val is not None else None,
            n_val,
        )
    documents = split_documents(text)
    n_train, n_val = split_sizes(len(documents), c)
    docs = [vocab.encode(doc) for doc in documents]
    end = vocab.index(END)
    order = np.random.default_rng(c.seed).permutation(n_train)
    train_streams = documents_layout([docs[i] for i in order], end, c.batch, c.seq_length)
    val_streams = (
        documents_layout(docs[n_train:], end, min(n_val, EVAL_DOCUMENT_STREAMS), c.seq_length)
        if n_val
        else None
    )
    return TextSplit(encoded, documents, None, None, train_streams, val_streams, n_val)
