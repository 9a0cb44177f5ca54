"""charrnn: character-level vanilla RNNs with a C++/Eigen core.

    a_t = W h_{t-1} + U x_t + b,  h_t = tanh(a_t),  o_t = V h_t + c,  p_t = softmax(o_t)
    loss = -sum_t log p_t[y_t]

The native functions (forward_backward, loss, clip_gradients, adagrad_step, sample) and
parameter blocks (Params, Params32) come from the compiled module charrnn._core; Trainer,
TrainConfig and Model are the Python front; charrnn.reference is the same maths in numpy.
"""

from charrnn._core import (
    Params,
    Params32,
    Result,
    adagrad_step,
    clip_gradients,
    forward_backward,
    loss,
    sample,
)
from charrnn.checkpoint import CheckpointError
from charrnn.data import Vocabulary, default_corpus_path, load_corpus, read_text
from charrnn.sampling import Model
from charrnn.train import Progress, TrainConfig, Trainer, TrainingDiverged

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "Model",
    "Params",
    "Params32",
    "Progress",
    "Result",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "Vocabulary",
    "adagrad_step",
    "clip_gradients",
    "default_corpus_path",
    "forward_backward",
    "load_corpus",
    "loss",
    "read_text",
    "sample",
]
