"""charrnn: character-level recurrent networks with a C++/Eigen core."""
from charrnn._core import (
    Params,
    Params32,
    Result,
    Trainer,
    Trainer32,
    adagrad_step,
    clip_gradients,
    forward_backward,
    loss,
    sample,
)

__version__ = "0.1.0"
