# Type stubs for the compiled module charrnn._core (see cpp/bindings/bindings.cpp). They carry
# the API reference's docstrings: the compiled functions are overloaded for float64 and float32,
# so Python sees their signatures as (*args, **kwargs), and these give the real ones.
# tests/test_stub.py checks that every name, argument and default here is the module's.
"""charrnn's native core: forward and backward of the model family (rnn, lstm, gru cells in
stacked layers), clipping, AdaGrad, RMSprop, Adam, sampling, evaluation and the training loop,
in C++ with Eigen.

Private: use the `charrnn` package, which re-exports the public names (Params, Params32,
Result, layout, forward_backward, loss, clip_gradients, clip_by_norm, adagrad_step,
rmsprop_step, adam_step, sample, evaluate).

Conventions shared by every function:

- Character indices are integer arrays of any integer dtype, each in [0, K); a target may
  also be -1 ("no prediction", a document's padding). Out of range raises IndexError.
- Real arrays (states, parameter values) may be any real dtype; they are converted to the
  model's (float64 for Params, float32 for Params32). NaN or infinity raises ValueError.
- Shapes: K the vocabulary size, m the hidden units per layer, L the layers, T the sequence
  length, B the batch. A state is (L, m), or (L, B, m) for a batch; a one-layer model also
  takes (m,) or (B, m).
- Params and Params32 do not mix: passing a float32 block where the function got a float64 one
  raises TypeError.
"""

from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

EIGEN_VERSION: str
"""The vendored Eigen's version, e.g. '3.4.0'."""
SIMD: str
"""The SIMD instruction sets Eigen says it uses in this build, e.g. 'AVX512, FMA, AVX2, ...'.
Eigen 3.4's list is coarse: an x86-64-v3 build (AVX2 and FMA) reads 'AVX SSE, SSE2, ...'; ARCH
names the build."""
ARCH: str
"""The CPU level the core was compiled for: 'x86-64-v4', 'x86-64-v3', 'portable' or 'native'
(CHARRNN_ARCH at build time; 'auto' resolves to one of the first three)."""
CELLS: tuple[str, ...]
"""The recurrent cells: ('rnn', 'lstm', 'gru')."""

def layout(
    cell: str, K: int, m: int, layers: int = 1, *, embedding: int = 0
) -> list[dict[str, Any]]:
    """The parameter layout of a model: one dict per array, in flat-block order.

    Args:
        cell: 'rnn', 'lstm' or 'gru'.
        K: Vocabulary size.
        m: Hidden units per layer.
        layers: Number of stacked layers L.
        embedding: D > 0: a (D, K) table E whose column x is what layer 1 reads for
            character x (U1 is then (G m, D)); 0: one-hot characters.

    Returns:
        One dict per array with keys `name` (str: 'W', 'U', 'V', 'b', 'c' for the one-layer
        rnn without an embedding; 'E', 'W1', 'U1', 'b1', 'bn1', ..., 'V', 'c' otherwise),
        `role` (str: 'E', 'W', 'U', 'b', 'bn', 'V' or 'c'), `layer` (int: 1..L, 0 for the
        output layer and the embedding), `shape` (tuple of int), `offset` and `size` (int:
        its place in the flat block) and `init` (str: 'normal', 'uniform', 'unit_normal',
        'zeros' or 'forget_bias').

    Raises:
        ValueError: An unknown cell, or K, m or layers not in [1, 2**31).
    """

class Params:
    """The parameters of one model in float64, stored in one flat block in the order of its
    layout (see layout()).

    Each array is a writable numpy view into that block, by name: `p['W1']` or `p.W1` (the
    one-layer vanilla RNN's are W, U, V, b, c); assigning to a name copies into the block.
    The same type holds gradients (Result.grads) and optimiser state (AdaGrad's memory).
    It is a mapping: `len(p)`, `'W' in p`, iteration over the names, `keys()`, `items()`.
    `p[name]` raises KeyError for a name not in the layout, `p.name` AttributeError, and
    assigning an array of another shape, a non-real dtype or NaN/infinity raises ValueError.
    """

    K: int
    """Vocabulary size."""
    m: int
    """Hidden units per layer."""
    cell: str
    """'rnn', 'lstm' or 'gru'."""
    layers: int
    """Number of layers L."""
    spec: dict[str, Any]
    """{'cell': str, 'K': int, 'm': int, 'layers': int}."""
    layout: list[dict[str, Any]]
    """The layout, as layout() returns it."""
    names: tuple[str, ...]
    """The array names in block order."""
    flat: npt.NDArray[np.float64]
    """Every parameter as one float64 vector (n,): a writable view.

    In layout order, each array row-major. Assigning copies in; ValueError for another shape
    or NaN/infinity."""

    def __init__(
        self, K: int, m: int, cell: str = "rnn", layers: int = 1, *, embedding: int = 0
    ) -> None:
        """All-zero parameters.

        Args:
            K: Vocabulary size.
            m: Hidden units per layer.
            cell: 'rnn', 'lstm' or 'gru'.
            layers: Number of stacked layers.
            embedding: The embedding's width D (0: none; see layout).

        Raises:
            ValueError: An unknown cell, or K, m or layers not in [1, 2**31).
            MemoryError: The block does not fit in memory.
        """
    @staticmethod
    def random(
        K: int,
        m: int,
        sig: float = 0.01,
        seed: int = 0,
        cell: str = "rnn",
        layers: int = 1,
        *,
        embedding: int = 0,
        forget_bias: float = 1.0,
    ) -> Params:
        """Initial weights: each array drawn by its layout's `init`, in block order, from one
        generator seeded with `seed`.

        rnn weights N(0, sig^2) (the assignment's); lstm and gru weights U(-1/sqrt(m),
        1/sqrt(m)), as PyTorch draws them; biases zero, but an lstm's forget-gate bias
        forget_bias (1: char-rnn's); an embedding N(0, 1), as nn.Embedding.

        Args:
            K: Vocabulary size.
            m: Hidden units per layer.
            sig: Standard deviation of the rnn's weights (unused by lstm and gru).
            seed: Seed of the generator, in [0, 2**64).
            cell: 'rnn', 'lstm' or 'gru'.
            layers: Number of stacked layers.
            embedding: The embedding's width D (0: none; see layout).
            forget_bias: The initial bias of an lstm's forget gate (rows m..2m of each b).

        Raises:
            ValueError: sig negative or not finite, an unknown cell, or a size out of range.
        """
    def copy(self) -> Params:
        """An independent copy."""
    def __getitem__(self, name: str) -> npt.NDArray[np.float64]: ...
    def __setitem__(self, name: str, value: npt.ArrayLike) -> None: ...
    def __contains__(self, name: str) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def keys(self) -> tuple[str, ...]:
        """The array names in block order."""
    def items(self) -> list[tuple[str, npt.NDArray[np.float64]]]:
        """(name, writable view) pairs in block order."""
    def __getattr__(self, name: str) -> npt.NDArray[np.float64]: ...

class Params32:
    """Params in float32: the same layout, views, mapping and errors, float32 arrays.

    Used by the float32 trainer (`TrainConfig(dtype='float32')`); every function of this
    module takes either, and returns results of the same dtype.
    """

    K: int
    """Vocabulary size."""
    m: int
    """Hidden units per layer."""
    cell: str
    """'rnn', 'lstm' or 'gru'."""
    layers: int
    """Number of layers L."""
    spec: dict[str, Any]
    """{'cell': str, 'K': int, 'm': int, 'layers': int}."""
    layout: list[dict[str, Any]]
    """The layout, as layout() returns it."""
    names: tuple[str, ...]
    """The array names in block order."""
    flat: npt.NDArray[np.float32]
    """Every parameter as one float32 vector (n,), in layout order: a writable view."""

    def __init__(
        self, K: int, m: int, cell: str = "rnn", layers: int = 1, *, embedding: int = 0
    ) -> None:
        """All-zero parameters (see Params)."""
    @staticmethod
    def random(
        K: int,
        m: int,
        sig: float = 0.01,
        seed: int = 0,
        cell: str = "rnn",
        layers: int = 1,
        *,
        embedding: int = 0,
        forget_bias: float = 1.0,
    ) -> Params32:
        """Initial weights as Params.random draws them, rounded to float32."""
    def copy(self) -> Params32:
        """An independent copy."""
    def __getitem__(self, name: str) -> npt.NDArray[np.float32]: ...
    def __setitem__(self, name: str, value: npt.ArrayLike) -> None: ...
    def __contains__(self, name: str) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def keys(self) -> tuple[str, ...]:
        """The array names in block order."""
    def items(self) -> list[tuple[str, npt.NDArray[np.float32]]]:
        """(name, writable view) pairs in block order."""
    def __getattr__(self, name: str) -> npt.NDArray[np.float32]: ...

class Result:
    """What forward_backward returns for float64 Params.

    States follow h0's form: with a leading layer axis L when h0 had one (or was None and
    L > 1), with a batch axis B when the inputs were (B, T).
    """

    loss: float
    """L = -sum_t log p_t[y_t], the mean over a batch (see forward_backward)."""
    grads: Params
    """The gradient of every array, unclipped, as a Params of the model's layout."""
    h_last: npt.NDArray[np.float64]
    """h_T of every layer, float64: (m,), (B, m), (L, m) or (L, B, m), as h0."""
    c_last: npt.NDArray[np.float64] | None
    """lstm: the cell state c_T, shaped as h_last; None for other cells."""
    hs: npt.NDArray[np.float64]
    """h_1 .. h_T, float64: (T, m) or (B, T, m), with a leading L axis as h_last has one.
    Before dropout."""
    cs: npt.NDArray[np.float64] | None
    """lstm: c_1 .. c_T, shaped as hs; None for other cells."""
    probs: npt.NDArray[np.float64]
    """p_1 .. p_T, float64: (T, K) or (B, T, K)."""

class Result32:
    """What forward_backward returns for Params32: Result with float32 arrays and Params32
    gradients (loss is a Python float)."""

    loss: float
    """L, as in Result."""
    grads: Params32
    """The unclipped gradients."""
    h_last: npt.NDArray[np.float32]
    """h_T of every layer, as in Result."""
    c_last: npt.NDArray[np.float32] | None
    """lstm: c_T; None for other cells."""
    hs: npt.NDArray[np.float32]
    """h_1 .. h_T, as in Result."""
    cs: npt.NDArray[np.float32] | None
    """lstm: c_1 .. c_T; None for other cells."""
    probs: npt.NDArray[np.float32]
    """p_1 .. p_T, as in Result."""

def forward_backward(
    params: Params | Params32,
    inputs: npt.ArrayLike,
    targets: npt.ArrayLike,
    h0: npt.ArrayLike | None = None,
    c0: npt.ArrayLike | None = None,
    dropout: float = 0.0,
    dropout_seed: int = 0,
    dropout_step: int = 0,
    threads: int = 1,
) -> Result | Result32:
    """Forward pass and backpropagation through time over one sequence or a batch.

    The loss is L = -(1/B) sum_b sum_t log p_t[y_t]: summed over the sequence, averaged over
    the batch. A target of -1 predicts nothing; with n real targets the sum over them is
    scaled by T/n instead of 1/B (the same when every target counts). Gradients are never
    clipped here (see clip_gradients).

    Args:
        params: The model (Params, or Params32 for float32 results).
        inputs: Character indices, integer, (T,) or (B, T).
        targets: The next characters, integer, the shape of inputs; -1 for none.
        h0: Initial hidden state of every layer, real: (L, m), or (L, B, m) for a batch; a
            one-layer model also takes (m,) or (B, m). None: zeros.
        c0: lstm only: initial cell state, shaped as h0. None: zeros.
        dropout: Probability in [0, 1) of dropping each unit of each layer's output h_t
            (inverted scaling); 0 turns it off.
        dropout_seed: With dropout_step, selects the masks (see dropout_mask): the same
            arguments give the same masks.
        dropout_step: The update number whose masks are used, >= 0.
        threads: Threads that may run it, 1 to 256; the results are the same for any number.

    Returns:
        A Result (Result32 for Params32) with loss, grads, h_last, c_last, hs, cs and probs.

    Raises:
        IndexError: An input outside [0, K), or a target outside [-1, K).
        ValueError: Inputs not (T,) or (B, T) with T, B >= 1; targets of another shape;
            non-integer indices; h0 or c0 of the wrong shape or with NaN/infinity; c0 for a
            cell other than lstm; params with NaN/infinity; dropout outside [0, 1), a
            negative dropout_step, or threads outside 1 to 256.
        TypeError: params is not a Params or Params32.
    """

def loss(
    params: Params | Params32,
    inputs: npt.ArrayLike,
    targets: npt.ArrayLike,
    h0: npt.ArrayLike | None = None,
    c0: npt.ArrayLike | None = None,
    dropout: float = 0.0,
    dropout_seed: int = 0,
    dropout_step: int = 0,
    threads: int = 1,
) -> float:
    """The loss of forward_backward without the backward pass (for finite differences).

    Arguments, shapes and exceptions are forward_backward's.

    Returns:
        L as a Python float.
    """

def dropout_mask(
    p: float, seed: int, step: int, point: int, m: int, T: int, B: int = 1
) -> npt.NDArray[np.float64]:
    """The dropout mask the core applies at one point of one update.

    Masks come from a counter-based generator (SplitMix64) indexed by (seed, step, point,
    entry), so any update's masks can be drawn again: a resumed run draws the same ones.

    Args:
        p: Dropout probability in [0, 1).
        seed: The run's seed, in [0, 2**64).
        step: The update number, >= 0.
        point: 1..L: the output of that layer.
        m: Hidden units.
        T: Time steps.
        B: Sequences in the batch.

    Returns:
        float64 array (B, T, m) of 0 and 1 / (1 - p).

    Raises:
        ValueError: p outside [0, 1), a negative step, a size < 1, or a mask of 2**40
            entries or more.
    """

def clip_gradients(grads: Params | Params32, limit: float = 5.0) -> None:
    """Clip every gradient entry to [-limit, limit], in place.

    Raises:
        ValueError: limit not a finite number > 0.
    """

def adagrad_step(
    params: Params | Params32,
    grads: Params | Params32,
    memory: Params | Params32,
    eta: float = 0.1,
    eps: float = 1e-8,
) -> None:
    """AdaGrad, in place: memory += g^2; params -= eta g / sqrt(memory + eps).

    Args:
        params: Updated in place.
        grads: The (clipped) gradients, of the same model and dtype.
        memory: The running sums of squared gradients, updated in place (zeros to start).
        eta: Learning rate, > 0.
        eps: Added under the square root, > 0.

    Raises:
        ValueError: Blocks of different models, or eta or eps not a finite number > 0.
        TypeError: Blocks of different dtypes.
    """

def rmsprop_step(
    params: Params | Params32,
    grads: Params | Params32,
    memory: Params | Params32,
    eta: float = 0.1,
    decay: float = 0.95,
    eps: float = 1e-8,
) -> None:
    """RMSprop, in place, as char-rnn's (torch.optim.RMSprop with alpha=decay):
    memory = decay memory + (1 - decay) g^2; params -= eta g / (sqrt(memory) + eps).

    Raises:
        ValueError: Blocks of different models, eta or eps not a finite number > 0, or decay
            outside [0, 1).
        TypeError: Blocks of different dtypes.
    """

def adam_step(
    params: Params | Params32,
    grads: Params | Params32,
    m: Params | Params32,
    v: Params | Params32,
    t: int,
    eta: float = 0.1,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> None:
    """Adam, in place, as torch.optim.Adam: m = beta1 m + (1 - beta1) g;
    v = beta2 v + (1 - beta2) g^2;
    params -= eta (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps).

    Args:
        params: Updated in place.
        grads: The (clipped) gradients.
        m: First moments, updated in place (zeros to start).
        v: Second moments, updated in place (zeros to start).
        t: The number of updates including this one (1 for the first).
        eta: Learning rate, > 0.
        beta1: First-moment decay in [0, 1).
        beta2: Second-moment decay in [0, 1).
        eps: Added to the root, > 0.

    Raises:
        ValueError: Blocks of different models, t < 1, eta or eps not a finite number > 0,
            or a beta outside [0, 1).
        TypeError: Blocks of different dtypes.
    """

def clip_by_norm(grads: Params | Params32, max_norm: float) -> float:
    """Clip by the global L2 norm, in place, as torch.nn.utils.clip_grad_norm_:
    grads *= min(1, max_norm / (||grads|| + 1e-6)).

    Returns:
        ||grads|| before clipping.

    Raises:
        ValueError: max_norm not a finite number > 0.
    """

def _clip_update_step(
    params: Any,
    grads: Any,
    state: tuple[Any, ...],
    t: int = 1,
    optimizer: str = "adagrad",
    eta: float = 0.1,
    eps: float = 1e-8,
    clip: float = 5.0,
    clip_norm: float = 0.0,
    decay: float = 0.95,
    beta1: float = 0.9,
    beta2: float = 0.999,
) -> None:
    """For tests: the trainer's fused update (clip, then the optimiser, in one pass) on given
    gradients, which stay unmodified; state is (memory,), or (m, v) for adam."""

def sample(
    params: Params | Params32,
    h0: npt.ArrayLike | None,
    prime: npt.ArrayLike,
    n: int,
    seed: int = 0,
    temperature: float = 1.0,
    top_p: float = 1.0,
    c0: npt.ArrayLike | None = None,
    stop: int = -1,
) -> npt.NDArray[np.int32]:
    """Generate up to n character indices.

    The network first reads prime[:-1] from state h0 (and c0); prime[-1] is the first input.
    Each next character is drawn by inverse CDF from softmax(o / temperature), restricted to
    the smallest set of most likely characters holding top_p of the probability. Same seed,
    same characters.

    Args:
        params: The model.
        h0: Initial hidden state, (L, m) or, for one layer, (m,); None: zeros.
        prime: Character indices, integer, 1-D, at least one.
        n: Characters to draw, >= 0.
        seed: Seed of the draws, in [0, 2**64).
        temperature: A number > 0: below 1 sharper, above 1 flatter.
        top_p: The nucleus, in (0, 1]; 1 draws from all characters.
        c0: lstm only: initial cell state, shaped as h0; None: zeros.
        stop: A character index after which drawing ends (it is included), or -1.

    Returns:
        int32 array (n,), or shorter when `stop` was drawn.

    Raises:
        IndexError: A prime index outside [0, K).
        ValueError: An empty or non-1-D prime, n < 0, temperature not > 0, top_p outside
            (0, 1], stop outside [-1, K), a state of the wrong shape, c0 for a cell other
            than lstm, or params with NaN/infinity.
    """

def inspect_forward(
    params: Params | Params32,
    inputs: npt.ArrayLike,
    targets: npt.ArrayLike,
    h0: npt.ArrayLike | None = None,
    c0: npt.ArrayLike | None = None,
    *,
    top_k: int = 5,
    gates: bool = True,
    threads: int = 1,
) -> dict[str, Any]:
    """The forward pass alone over one chunk of a text at batch 1, for charrnn inspect.

    inputs, targets: (T,) character indices; h0 (and c0 for an lstm): (L, m), None for zeros.
    Returns hs (L, T, m), cs (L, T, m) or None, gates (L, G, T, m) (lstm [i f g o], gru
    [r z n]; None for rnn or gates=False), top_index and top_p (T, top_k), loss, entropy (T,)
    in nats, rank (T,) (characters more probable than the target), h_last and c_last (L, m):
    the state to carry into the next chunk. h, c and p are the bits forward_backward gives on
    the same window. The GIL is released.
    """

def evaluate(
    params: Params | Params32,
    text: npt.ArrayLike,
    chunk: int = 512,
    targets: npt.ArrayLike | None = None,
    start: int = -1,
    batch: int = 1,
    threads: int = 1,
) -> tuple[float, int]:
    """The summed loss over the predictions of an encoded text, from a zero state.

    A plain text predicts text[i+1] from text[:i+1], the state carried across chunks of
    `chunk` characters (n = len(text) - 1 for batch 1; batch > 1 reads that many equal parts
    side by side, each from a zero state). With targets, text is a documents layout
    (charrnn.data.document_streams, made for windows of `chunk`): targets[i] (-1: none) is
    predicted after text[:i+1], and the state is zeroed where a window begins with `start`.
    The GIL is released; Ctrl-C raises KeyboardInterrupt.

    Args:
        params: The model.
        text: Character indices, integer, 1-D.
        chunk: Characters per forward pass (the window of a documents layout), >= 1.
        targets: None, or integer targets the length of text, each in [-1, K).
        start: The start symbol of a documents layout, or -1.
        batch: Streams read side by side, >= 1.
        threads: Threads that may run it, 1 to 256; the result is the same for any number.

    Returns:
        (total, n): the summed loss -sum log p[y] in nats (float) and the number of
        predictions (int). The loss per character is total / n.

    Raises:
        IndexError: An index outside [0, K) (a target outside [-1, K)).
        ValueError: Too short a text (at least 2 characters per stream; 1 for documents), a
            documents layout that does not fit the window, a size < 1, threads outside 1 to
            256, or params with NaN/infinity.
    """

class Trainer:
    """The native training loop over an encoded text, in float64 (see run).

    Each update reads seq_length characters of each of `batch` streams (at evenly spaced
    offsets of the text), runs forward and backward, clips and applies the optimiser, carries
    the state into the next update and keeps the smooth loss (0.999 smooth + 0.001 loss) and
    the parameters with the lowest smooth loss so far (`best`). When fewer than seq_length + 1
    characters remain, a new epoch starts from offset 0 with a zero state.
    charrnn.Trainer wraps it; use that unless you need the loop alone.
    """

    params: Params
    """Current parameters (a live view)."""
    @property
    def memory(self) -> Params:
        """adagrad: the running sums of squared clipped gradients; rmsprop: their running mean
        (a live view; state('memory')). AttributeError for adam: use state('m'), state('v')."""
    best: Params
    """The parameters with the lowest smooth loss so far (a live view)."""
    @property
    def optimizer(self) -> str:
        """'adagrad', 'rmsprop' or 'adam'."""
    @property
    def state_names(self) -> tuple[str, ...]:
        """The optimiser's state arrays: ('memory',), or ('m', 'v') for adam."""
    h_prev: npt.NDArray[np.float64]
    """Hidden state of every layer carried into the next update, (L, B, m); settable."""
    c_prev: npt.NDArray[np.float64] | None
    """lstm: cell state carried into the next update, (L, B, m); None for other cells."""
    step: int
    """Updates done so far (settable, >= 0)."""
    position: int
    """Offset of the next sequence within each stream's part of the text (settable)."""
    epoch: int
    """Completed passes over the text (settable, >= 0)."""
    smooth_loss: float
    """0.999 smooth + 0.001 loss; NaN before the first update."""
    first_loss: float
    """The loss of the first update (l_1, settable); NaN before it."""
    best_smooth_loss: float
    """The lowest smooth loss so far (with debias_best, the lowest debiased one)."""
    debias_best: bool
    """Whether `best` follows the smooth loss with its start-up bias removed."""
    best_step: int
    """The update whose starting parameters are `best`."""
    diverged: bool
    """Whether a loss was NaN or infinite (that update was not applied)."""
    steps_per_epoch: int
    """Updates per pass over the text."""
    seq_length: int
    """Characters per stream per update (T)."""
    batch: int
    """Streams per update (B)."""
    eta: float
    """Learning rate; may be set between runs (a schedule). ValueError unless finite > 0."""
    eps: float
    """The optimiser's epsilon."""
    clip: float
    """Elementwise clipping limit (unused when clip_norm > 0)."""
    clip_norm: float
    """If > 0, gradients are clipped by their global L2 norm to this; 0: elementwise, to clip."""
    decay: float
    """RMSprop's decay."""
    beta1: float
    """Adam's first-moment decay."""
    beta2: float
    """Adam's second-moment decay."""
    dropout: float
    """Dropout probability on each layer's output."""
    dropout_seed: int
    """Seed of the dropout masks; update `step` uses the masks of (dropout_seed, step)."""
    documents: bool
    """Whether the text is a documents layout."""
    threads: int
    """Threads running the steps; may be set between runs (the results do not depend on it)."""
    text_length: int
    """Characters (indices) in the text the loop reads."""
    def __init__(
        self,
        params: Params,
        text: npt.ArrayLike,
        seq_length: int = 25,
        batch: int = 1,
        eta: float = 0.1,
        eps: float = 1e-8,
        clip: float = 5.0,
        optimizer: str = "adagrad",
        clip_norm: float = 0.0,
        decay: float = 0.95,
        beta1: float = 0.9,
        beta2: float = 0.999,
        dropout: float = 0.0,
        dropout_seed: int = 0,
        targets: npt.ArrayLike | None = None,
        start: int = -1,
        threads: int = 1,
        debias_best: bool = False,
    ) -> None:
        """A loop that trains `params` in place on an encoded text.

        Args:
            params: The model, trained in place (and copied into `best`).
            text: Character indices, integer, 1-D; at least batch * (seq_length + 1).
            seq_length: Characters per update per stream (T).
            batch: Streams per update (B), each at its own offset.
            eta: Learning rate.
            eps: The optimiser's epsilon (inside the square root for adagrad).
            clip: Gradients are clipped elementwise to [-clip, clip] ...
            optimizer: 'adagrad', 'rmsprop' (decay) or 'adam' (beta1, beta2).
            clip_norm: ... or, if > 0, by their global L2 norm to clip_norm.
            decay: RMSprop's decay in [0, 1).
            beta1: Adam's first-moment decay in [0, 1).
            beta2: Adam's second-moment decay in [0, 1).
            dropout: Probability in [0, 1) of dropping each unit of each layer's output.
            dropout_seed: Update `step` uses the masks of (dropout_seed, step).
            targets: With start, text is a documents layout made for windows of seq_length
                (charrnn.data.document_streams): targets[i] (-1: none) is predicted after
                text[i].
            start: The documents layout's start symbol: a stream's state is zeroed at each
                window that begins with it.
            threads: Threads running the steps, 1 to 256 (the results are the same for any
                number).
            debias_best: `best` follows the smooth loss with its start-up bias removed,
                (smooth - 0.999^n l_1) / (1 - 0.999^n) after n updates (l_1 the first loss),
                instead of the smooth loss itself (the assignment's choice).

        Raises:
            IndexError: An index outside [0, K) (a target outside [-1, K)).
            ValueError: Too short a text, an unknown optimizer, a setting out of range, a
                documents layout that does not fit seq_length, or params with NaN/infinity.
        """
    def state(self, name: str) -> Params:
        """The live Params of one optimiser state (name in state_names).

        Write into its flat to restore a checkpoint: params, these states and step restored
        into a fresh Trainer continue bit for bit.

        Raises:
            ValueError: A name that is not one of state_names.
        """
    def run(
        self, losses: npt.NDArray[np.float64], smooth_losses: npt.NDArray[np.float64] | None = None
    ) -> int:
        """Run len(losses) updates, writing each update's loss (and smooth loss) in place.

        The GIL is released between chunks of about 50 ms; Ctrl-C raises KeyboardInterrupt
        between updates, with losses[:step - step_before] filled in.

        Args:
            losses: Writable, contiguous, 1-D float64 array, one entry per update.
            smooth_losses: None, or an array like losses, as long.

        Returns:
            The number of updates run: fewer than len(losses) only when a loss was not finite
            (then `diverged` is True and that update was not applied).

        Raises:
            ValueError: An output array that is not writable, contiguous, 1-D float64, or of
                another length.
            RuntimeError: The trainer is already running in another thread.
        """

class Trainer32:
    """Trainer in float32: the same loop, settings, attributes and errors, on Params32."""

    params: Params32
    """Current parameters (a live view)."""
    @property
    def memory(self) -> Params32:
        """adagrad, rmsprop: the optimiser's memory (a live view); AttributeError for adam."""
    best: Params32
    """The parameters with the lowest smooth loss so far (a live view)."""
    @property
    def optimizer(self) -> str:
        """'adagrad', 'rmsprop' or 'adam'."""
    @property
    def state_names(self) -> tuple[str, ...]:
        """('memory',), or ('m', 'v') for adam."""
    h_prev: npt.NDArray[np.float32]
    """Hidden state of every layer carried into the next update, (L, B, m)."""
    c_prev: npt.NDArray[np.float32] | None
    """lstm: cell state carried into the next update, (L, B, m); None otherwise."""
    step: int
    """Updates done so far."""
    position: int
    """Offset of the next sequence within each stream's part of the text."""
    epoch: int
    """Completed passes over the text."""
    smooth_loss: float
    """0.999 smooth + 0.001 loss; NaN before the first update."""
    first_loss: float
    """The loss of the first update (l_1, settable); NaN before it."""
    best_smooth_loss: float
    """The lowest smooth loss so far (with debias_best, the lowest debiased one)."""
    debias_best: bool
    """Whether `best` follows the smooth loss with its start-up bias removed."""
    best_step: int
    """The update whose starting parameters are `best`."""
    diverged: bool
    """Whether a loss was NaN or infinite."""
    steps_per_epoch: int
    """Updates per pass over the text."""
    seq_length: int
    """Characters per stream per update (T)."""
    batch: int
    """Streams per update (B)."""
    eta: float
    """Learning rate; may be set between runs."""
    eps: float
    """The optimiser's epsilon."""
    clip: float
    """Elementwise clipping limit."""
    clip_norm: float
    """If > 0, gradients are clipped by their global L2 norm to this."""
    decay: float
    """RMSprop's decay."""
    beta1: float
    """Adam's first-moment decay."""
    beta2: float
    """Adam's second-moment decay."""
    dropout: float
    """Dropout probability."""
    dropout_seed: int
    """Seed of the dropout masks."""
    documents: bool
    """Whether the text is a documents layout."""
    threads: int
    """Threads running the steps; may be set between runs (the results do not depend on it)."""
    text_length: int
    """Characters in the text the loop reads."""
    def __init__(
        self,
        params: Params32,
        text: npt.ArrayLike,
        seq_length: int = 25,
        batch: int = 1,
        eta: float = 0.1,
        eps: float = 1e-8,
        clip: float = 5.0,
        optimizer: str = "adagrad",
        clip_norm: float = 0.0,
        decay: float = 0.95,
        beta1: float = 0.9,
        beta2: float = 0.999,
        dropout: float = 0.0,
        dropout_seed: int = 0,
        targets: npt.ArrayLike | None = None,
        start: int = -1,
        threads: int = 1,
        debias_best: bool = False,
    ) -> None:
        """As Trainer, on Params32."""
    def state(self, name: str) -> Params32:
        """The live Params32 of one optimiser state (name in state_names)."""
    def run(
        self, losses: npt.NDArray[np.float64], smooth_losses: npt.NDArray[np.float64] | None = None
    ) -> int:
        """As Trainer.run (the losses are float64 arrays here too)."""
