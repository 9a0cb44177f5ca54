# Type stubs for the compiled module charrnn._core (see cpp/bindings.cpp).
from typing import Any, overload

import numpy as np
import numpy.typing as npt

EIGEN_VERSION: str
SIMD: str

class Params:
    K: int
    m: int
    W: npt.NDArray[np.float64]  # (m, m) writable view
    U: npt.NDArray[np.float64]  # (m, K)
    V: npt.NDArray[np.float64]  # (K, m)
    b: npt.NDArray[np.float64]  # (m,)
    c: npt.NDArray[np.float64]  # (K,)
    flat: npt.NDArray[np.float64]  # all of the above, W U V b c
    def __init__(self, K: int, m: int) -> None: ...
    @staticmethod
    def random(K: int, m: int, sig: float = 0.01, seed: int = 0) -> Params: ...
    def copy(self) -> Params: ...

class Params32:
    K: int
    m: int
    W: npt.NDArray[np.float32]
    U: npt.NDArray[np.float32]
    V: npt.NDArray[np.float32]
    b: npt.NDArray[np.float32]
    c: npt.NDArray[np.float32]
    flat: npt.NDArray[np.float32]
    def __init__(self, K: int, m: int) -> None: ...
    @staticmethod
    def random(K: int, m: int, sig: float = 0.01, seed: int = 0) -> Params32: ...
    def copy(self) -> Params32: ...

class Result:
    loss: float
    grads: Params
    h_last: npt.NDArray[np.float64]  # (m,) or (B, m)
    hs: npt.NDArray[np.float64]  # (T, m) or (B, T, m)
    probs: npt.NDArray[np.float64]  # (T, K) or (B, T, K)

class Result32:
    loss: float
    grads: Params32
    h_last: npt.NDArray[np.float32]
    hs: npt.NDArray[np.float32]
    probs: npt.NDArray[np.float32]

@overload
def forward_backward(params: Params, inputs: npt.ArrayLike, targets: npt.ArrayLike, h0: npt.ArrayLike) -> Result: ...
@overload
def forward_backward(params: Params32, inputs: npt.ArrayLike, targets: npt.ArrayLike, h0: npt.ArrayLike) -> Result32: ...
def loss(params: Params | Params32, inputs: npt.ArrayLike, targets: npt.ArrayLike, h0: npt.ArrayLike) -> float: ...
def clip_gradients(grads: Params | Params32, limit: float = 5.0) -> None: ...
def adagrad_step(params: Any, grads: Any, memory: Any, eta: float = 0.1, eps: float = 1e-8) -> None: ...
def sample(params: Params | Params32, h0: npt.ArrayLike, prime: npt.ArrayLike, n: int, seed: int = 0,
           temperature: float = 1.0, top_p: float = 1.0) -> npt.NDArray[np.int32]: ...

class Trainer:
    params: Params
    memory: Params
    best: Params
    h_prev: npt.NDArray[np.float64]  # (B, m)
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
    eta: float
    eps: float
    clip: float
    text_length: int
    def __init__(self, params: Params, text: npt.ArrayLike, seq_length: int = 25, batch: int = 1,
                 eta: float = 0.1, eps: float = 1e-8, clip: float = 5.0) -> None: ...
    def run(self, losses: npt.NDArray[np.float64], smooth_losses: npt.NDArray[np.float64] | None = None) -> int: ...

class Trainer32:
    params: Params32
    memory: Params32
    best: Params32
    h_prev: npt.NDArray[np.float32]
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
    eta: float
    eps: float
    clip: float
    text_length: int
    def __init__(self, params: Params32, text: npt.ArrayLike, seq_length: int = 25, batch: int = 1,
                 eta: float = 0.1, eps: float = 1e-8, clip: float = 5.0) -> None: ...
    def run(self, losses: npt.NDArray[np.float64], smooth_losses: npt.NDArray[np.float64] | None = None) -> int: ...
