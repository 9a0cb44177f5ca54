"""charrnn: character-level recurrent networks (vanilla RNN, LSTM, GRU, stacked) with a C++/Eigen
core.

    a_t = W h_{t-1} + U x_t + b,  h_t = tanh(a_t),  o_t = V h_t + c,  p_t = softmax(o_t)
    loss = -sum_t log p_t[y_t]

The native functions (layout, forward_backward, loss, clip_gradients, clip_by_norm,
adagrad_step, rmsprop_step, adam_step, sample, evaluate) and parameter blocks (Params,
Params32) come from the compiled module charrnn._core;
Trainer, TrainConfig and Model are the Python front, and Callback hooks into a training run;
charrnn.reference is the same maths in numpy.
check_gradients, write_case and check_case check your own implementation of the model against
the native core (charrnn.check).

Names are resolved on first use, so `import charrnn.reference` works without the compiled module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what a type checker sees; at run time names resolve on first use (below)
    from charrnn._core import (
        Params,
        Params32,
        Result,
        adagrad_step,
        adam_step,
        clip_by_norm,
        clip_gradients,
        evaluate,
        forward_backward,
        layout,
        loss,
        rmsprop_step,
        sample,
    )
    from charrnn.callbacks import Callback
    from charrnn.check import check_case, check_gradients, write_case
    from charrnn.checkpoint import CheckpointError
    from charrnn.config import TrainConfig
    from charrnn.data import Vocabulary, default_corpus_path, load_corpus, read_text
    from charrnn.model import Model
    from charrnn.spec import Evaluation, ModelSpec
    from charrnn.train import Progress, Trainer, TrainingDiverged

__version__ = "0.2.0"

# public name -> the module that defines it
_EXPORTS = {
    **{
        name: "charrnn._core"
        for name in (
            "Params",
            "Params32",
            "Result",
            "adagrad_step",
            "adam_step",
            "clip_by_norm",
            "clip_gradients",
            "evaluate",
            "forward_backward",
            "layout",
            "loss",
            "rmsprop_step",
            "sample",
        )
    },
    "Callback": "charrnn.callbacks",
    "check_case": "charrnn.check",
    "check_gradients": "charrnn.check",
    "write_case": "charrnn.check",
    "CheckpointError": "charrnn.checkpoint",
    "Vocabulary": "charrnn.data",
    "default_corpus_path": "charrnn.data",
    "load_corpus": "charrnn.data",
    "read_text": "charrnn.data",
    "Model": "charrnn.model",
    "ModelSpec": "charrnn.spec",
    "Evaluation": "charrnn.spec",
    "Progress": "charrnn.train",
    "TrainConfig": "charrnn.config",
    "Trainer": "charrnn.train",
    "TrainingDiverged": "charrnn.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'charrnn' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
