"""The model family in plain numpy, the oracle the native core (cpp/cells, cpp/model) is tested
against: one file per cell (rnn.py, lstm.py, gru.py: forward then backward), the stack and the
output layer in model.py, dropout.py (the masks, bit for bit the core's), and ops.py (the
parameter reads the cells share). Clarity over speed.

Imports nothing native: the parameter layout comes from the caller (charrnn._core.layout).
"""

from . import dropout, gru, lstm, ops, rnn
from .model import (
    OPTIMIZERS,
    Batch,
    Forward,
    Params,
    Result,
    adagrad_step,
    adam_step,
    backward,
    check_inputs,
    clip_by_norm,
    clip_gradients,
    forward,
    forward_backward,
    loss,
    loss_scale,
    rmsprop_step,
    run,
    train,
)

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
