"""charrnn inspect: what a trained network learned, as one self-contained HTML page (page.py)
and as arrays for a notebook (Model.inspect), from a streaming pass over a text (analysis.py).
"""

from __future__ import annotations

from charrnn.inspect.analysis import FEATURES, encode_text, inspect_arrays, text_features
from charrnn.inspect.page import build

__all__ = ["FEATURES", "build", "encode_text", "inspect_arrays", "text_features"]
