"""`charrnn inspect` and `charrnn train --inspect`: find the text (the run's validation text by
default, else its training text), build the page (page.py) and write it. Prints where the page
is and opens nothing. Not here: argument parsing and error formatting (cli.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from charrnn import checkpoint
from charrnn.data import default_corpus_path, read_text
from charrnn.inspect import page

DEFAULT_MAX_CHARS = 100_000
# Texts longer than this get a progress bar (on stderr).
PROGRESS_FROM = 20_000


def run_text(path: str | Path) -> tuple[str, str]:
    """(text, name) of the run a checkpoint belongs to: its validation part when it held one
    out, else its training text."""
    _, meta = checkpoint.load(path)
    found = meta.get("config")
    config: dict[str, Any] = found if isinstance(found, dict) else {}
    text_path = meta.get("text_path")
    source = Path(text_path) if text_path else default_corpus_path()
    try:
        text = read_text(source, config.get("newline", "lf"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the run's text {str(source)!r} is gone; give a TEXT file to inspect"
        ) from None
    val_frac = config.get("val_frac") or 0
    if config.get("documents") and val_frac:
        lines = text.split("\n")
        n_val = int(round(val_frac * len(lines)))
        return "\n".join(lines[-n_val:]), f"{source.name} (validation documents)"
    n_val = int(round(val_frac * len(text)))
    if n_val > 1:
        return text[-n_val:], f"{source.name} (validation part)"
    return text, source.name


def checkpoint_path(given: str | Path) -> Path:
    """A checkpoint file, or best.npz inside a run folder."""
    path = Path(given)
    return path / "best.npz" if path.is_dir() else path


def inspect_checkpoint(
    ckpt: str | Path,
    text_file: str | Path | None = None,
    *,
    out: str | Path | None = None,
    max_chars: int = DEFAULT_MAX_CHARS,
    window: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Build and write the page for a checkpoint; returns page.build's info with 'out' and
    'seconds'. Messages (warnings, where the page is) go to stderr and stdout."""
    from charrnn.model import Model

    started = time.perf_counter()
    path = checkpoint_path(ckpt)
    model = Model.load(path)
    if text_file is not None:
        text, name = read_text(text_file), Path(text_file).name
    else:
        text, name = run_text(path)
    out = Path(out) if out is not None else path.parent / "inspect.html"
    bar = None
    n = min(len(text), max_chars)
    if not quiet and n >= PROGRESS_FROM:
        from tqdm import tqdm

        bar = tqdm(total=n - 1, unit="char", unit_scale=True, leave=False, desc="inspect")

    def progress(done: int) -> None:
        if bar is not None:
            bar.update(done - bar.n)

    def warn(message: str) -> None:
        print(f"charrnn: warning: {message}", file=sys.stderr)

    try:
        html, info = page.build(
            model, text, name=name, max_chars=max_chars, window=window, progress=progress, warn=warn
        )
    finally:
        if bar is not None:
            bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    info = {**info, "out": str(out), "seconds": time.perf_counter() - started}
    if not quiet:
        print(
            f"wrote {out} ({info['bytes'] / 1e6:.1f} MB; {info['chars']:,} characters "
            f"analysed, window {info['window']:,}, {info['bits_per_char']:.3f} bits per "
            f"character, {info['seconds']:.1f} s)"
        )
    return info
