"""The model family in plain numpy, the oracle the native core is tested against, file for file
as cpp/ is laid out: params.py (cpp/core/layout: the flat block and its views), one file per
cell (rnn.py, lstm.py, gru.py: forward then backward, as cpp/cells), the stack and the output
layer in model.py (cpp/model), dropout.py (the masks, bit for bit the core's), optim.py
(cpp/optim: clipping and the optimizers), train.py (cpp/train: the loop), and ops.py (the
parameter reads the cells share). Clarity over speed.

Imports nothing native: the parameter layout comes from the caller (charrnn._core.layout).
"""

from . import dropout, gru, lstm, ops, rnn
from .model import (
    Batch,
    Forward,
    Result,
    backward,
    check_inputs,
    forward,
    forward_backward,
    loss,
    loss_scale,
    run,
)
from .optim import (
    OPTIMIZERS,
    adagrad_step,
    adam_step,
    clip_by_norm,
    clip_gradients,
    rmsprop_step,
)
from .params import Params
from .train import train

__all__ = [
    "Batch",
    "Forward",
    "OPTIMIZERS",
    "Params",
    "Result",
    "adagrad_step",
    "adam_step",
    "backward",
    "check_inputs",
    "clip_by_norm",
    "clip_gradients",
    "dropout",
    "forward",
    "forward_backward",
    "gru",
    "loss",
    "loss_scale",
    "lstm",
    "ops",
    "rmsprop_step",
    "rnn",
    "run",
    "train",
]
