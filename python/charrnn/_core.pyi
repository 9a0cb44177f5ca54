# Type stubs for the compiled module charrnn._core (see cpp/bindings/bindings.cpp).
from collections.abc import Iterator
from typing import Any, overload

import numpy as np
import numpy.typing as npt

EIGEN_VERSION: str
SIMD: str
ARCH: str
CELLS: tuple[str, ...]

def layout(cell: str, K: int, m: int, layers: int = 1) -> list[dict[str, Any]]: ...

class Params:
    K: int
    m: int
    cell: str
    layers: int
    spec: dict[str, Any]
    layout: list[dict[str, Any]]
    names: tuple[str, ...]
    flat: npt.NDArray[np.float64]  # every array, in layout order
    def __init__(self, K: int, m: int, cell: str = "rnn", layers: int = 1) -> None: ...
    @staticmethod
    def random(K: int, m: int, sig: float = 0.01, seed: int = 0, cell: str = "rnn",
               layers: int = 1) -> Params: ...
    def copy(self) -> Params: ...
    def __getitem__(self, name: str) -> npt.NDArray[np.float64]: ...  # a writable view
    def __setitem__(self, name: str, value: npt.ArrayLike) -> None: ...
    def __contains__(self, name: str) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def keys(self) -> tuple[str, ...]: ...
    def items(self) -> list[tuple[str, npt.NDArray[np.float64]]]: ...
    def __getattr__(self, name: str) -> npt.NDArray[np.float64]: ...

class Params32:
    K: int
    m: int
    cell: str
    layers: int
    spec: dict[str, Any]
    layout: list[dict[str, Any]]
    names: tuple[str, ...]
    flat: npt.NDArray[np.float32]
    def __init__(self, K: int, m: int, cell: str = "rnn", layers: int = 1) -> None: ...
    @staticmethod
    def random(K: int, m: int, sig: float = 0.01, seed: int = 0, cell: str = "rnn",
               layers: int = 1) -> Params32: ...
    def copy(self) -> Params32: ...
    def __getitem__(self, name: str) -> npt.NDArray[np.float32]: ...
    def __setitem__(self, name: str, value: npt.ArrayLike) -> None: ...
    def __contains__(self, name: str) -> bool: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def keys(self) -> tuple[str, ...]: ...
    def items(self) -> list[tuple[str, npt.NDArray[np.float32]]]: ...
    def __getattr__(self, name: str) -> npt.NDArray[np.float32]: ...

class Result:
    loss: float
    grads: Params
    h_last: npt.NDArray[np.float64]  # (m,), (B, m), (L, m) or (L, B, m): as h0
    c_last: npt.NDArray[np.float64] | None  # lstm only
    hs: npt.NDArray[np.float64]  # (T, m) or (B, T, m), with a leading L axis as h0
    cs: npt.NDArray[np.float64] | None  # lstm only
    probs: npt.NDArray[np.float64]  # (T, K) or (B, T, K)

class Result32:
    loss: float
    grads: Params32
    h_last: npt.NDArray[np.float32]
    c_last: npt.NDArray[np.float32] | None
    hs: npt.NDArray[np.float32]
    cs: npt.NDArray[np.float32] | None
    probs: npt.NDArray[np.float32]

@overload
def forward_backward(params: Params, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                     h0: npt.ArrayLike | None = None, c0: npt.ArrayLike | None = None,
                     dropout: float = 0.0, dropout_seed: int = 0,
                     dropout_step: int = 0) -> Result: ...
@overload
def forward_backward(params: Params32, inputs: npt.ArrayLike, targets: npt.ArrayLike,
                     h0: npt.ArrayLike | None = None, c0: npt.ArrayLike | None = None,
                     dropout: float = 0.0, dropout_seed: int = 0,
                     dropout_step: int = 0) -> Result32: ...
def loss(params: Params | Params32, inputs: npt.ArrayLike, targets: npt.ArrayLike,
         h0: npt.ArrayLike | None = None, c0: npt.ArrayLike | None = None,
         dropout: float = 0.0, dropout_seed: int = 0, dropout_step: int = 0) -> float: ...
def dropout_mask(p: float, seed: int, step: int, point: int, m: int, T: int,
                 B: int = 1) -> npt.NDArray[np.float64]: ...  # (B, T, m)
def clip_gradients(grads: Params | Params32, limit: float = 5.0) -> None: ...
def adagrad_step(params: Any, grads: Any, memory: Any, eta: float = 0.1, eps: float = 1e-8) -> None: ...
def rmsprop_step(params: Any, grads: Any, memory: Any, eta: float = 0.1, decay: float = 0.95,
                 eps: float = 1e-8) -> None: ...
def adam_step(params: Any, grads: Any, m: Any, v: Any, t: int, eta: float = 0.1,
              beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None: ...
def clip_by_norm(grads: Params | Params32, max_norm: float) -> float: ...  # the norm before
def _clip_update_step(params: Any, grads: Any, state: tuple[Any, ...], t: int = 1,
                      optimizer: str = "adagrad", eta: float = 0.1, eps: float = 1e-8,
                      clip: float = 5.0, clip_norm: float = 0.0, decay: float = 0.95,
                      beta1: float = 0.9, beta2: float = 0.999) -> None: ...  # for tests
def sample(params: Params | Params32, h0: npt.ArrayLike | None, prime: npt.ArrayLike, n: int,
           seed: int = 0, temperature: float = 1.0, top_p: float = 1.0,
           c0: npt.ArrayLike | None = None, stop: int = -1) -> npt.NDArray[np.int32]: ...
def evaluate(params: Params | Params32, text: npt.ArrayLike, chunk: int = 512,
             targets: npt.ArrayLike | None = None, start: int = -1,
             batch: int = 1) -> tuple[float, int]: ...

class Trainer:
    params: Params
    @property
    def memory(self) -> Params: ...  # adagrad, rmsprop (AttributeError for adam: use state)
    best: Params
    @property
    def optimizer(self) -> str: ...  # "adagrad", "rmsprop" or "adam"
    @property
    def state_names(self) -> tuple[str, ...]: ...  # ("memory",), or ("m", "v") for adam
    h_prev: npt.NDArray[np.float64]  # (L, B, m)
    c_prev: npt.NDArray[np.float64] | None  # (L, B, m), lstm only
    step: int
    position: int
    epoch: int
    smooth_loss: float
    best_smooth_loss: float
    best_step: int
    diverged: bool
    steps_per_epoch: int
    seq_length: int
    batch: int
    eta: float  # settable between runs
    eps: float
    clip: float
    clip_norm: float
    decay: float
    beta1: float
    beta2: float
    dropout: float
    dropout_seed: int
    documents: bool
    text_length: int
    def __init__(self, params: Params, text: npt.ArrayLike, seq_length: int = 25, batch: int = 1,
                 eta: float = 0.1, eps: float = 1e-8, clip: float = 5.0,
                 optimizer: str = "adagrad", clip_norm: float = 0.0, decay: float = 0.95,
                 beta1: float = 0.9, beta2: float = 0.999, dropout: float = 0.0,
                 dropout_seed: int = 0, targets: npt.ArrayLike | None = None,
                 start: int = -1) -> None: ...
    def state(self, name: str) -> Params: ...  # a live view; name in state_names
    def run(self, losses: npt.NDArray[np.float64], smooth_losses: npt.NDArray[np.float64] | None = None) -> int: ...

class Trainer32:
    params: Params32
    @property
    def memory(self) -> Params32: ...  # adagrad, rmsprop (AttributeError for adam: use state)
    best: Params32
    @property
    def optimizer(self) -> str: ...  # "adagrad", "rmsprop" or "adam"
    @property
    def state_names(self) -> tuple[str, ...]: ...  # ("memory",), or ("m", "v") for adam
    h_prev: npt.NDArray[np.float32]
    c_prev: npt.NDArray[np.float32] | None
    step: int
    position: int
    epoch: int
    smooth_loss: float
    best_smooth_loss: float
    best_step: int
    diverged: bool
    steps_per_epoch: int
    seq_length: int
    batch: int
    eta: float  # settable between runs
    eps: float
    clip: float
    clip_norm: float
    decay: float
    beta1: float
    beta2: float
    dropout: float
    dropout_seed: int
    documents: bool
    text_length: int
    def __init__(self, params: Params32, text: npt.ArrayLike, seq_length: int = 25, batch: int = 1,
                 eta: float = 0.1, eps: float = 1e-8, clip: float = 5.0,
                 optimizer: str = "adagrad", clip_norm: float = 0.0, decay: float = 0.95,
                 beta1: float = 0.9, beta2: float = 0.999, dropout: float = 0.0,
                 dropout_seed: int = 0, targets: npt.ArrayLike | None = None,
                 start: int = -1) -> None: ...
    def state(self, name: str) -> Params32: ...  # a live view; name in state_names
    def run(self, losses: npt.NDArray[np.float64], smooth_losses: npt.NDArray[np.float64] | None = None) -> int: ...
