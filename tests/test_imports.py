"""How the package imports: charrnn.reference needs no compiled module, every module imports on
its own in a fresh interpreter (no import cycle), the public names resolve, and the names the
benchmarks and tools take from charrnn exist."""

import ast
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import charrnn
import numpy as np
import pytest
from charrnn import _core

ROOT = Path(__file__).resolve().parents[1]

# Run in a child interpreter that refuses to load charrnn._core.
BLOCK_CORE = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "charrnn._core":
            raise ImportError("charrnn._core is blocked in this test")
sys.meta_path.insert(0, Block())
"""


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_reference_imports_and_runs_without_the_compiled_module():
    layout = _core.layout(5, 3, cell="lstm", layers=2)  # computed here, handed over as data
    x, y = [0, 1, 2, 3], [1, 2, 3, 4]
    code = (
        BLOCK_CORE
        + f"""
import json, numpy as np
import charrnn.reference as reference
layout = json.loads({json.dumps(json.dumps(layout))})
params = reference.Params.random(layout, sig=0.1, seed=0)
print(json.dumps(reference.loss(params, {x}, {y})))
try:
    import charrnn._core
except ImportError:
    print("blocked")
"""
    )
    result = python(code)
    assert result.returncode == 0, result.stderr
    loss, blocked = result.stdout.split()
    assert blocked == "blocked"
    from charrnn import reference

    params = reference.Params.random(layout, sig=0.1, seed=0)
    assert float(loss) == pytest.approx(reference.loss(params, x, y), rel=1e-15)


@pytest.mark.parametrize(
    "module",
    sorted(
        f"charrnn.{m.name}" for m in pkgutil.iter_modules(charrnn.__path__) if m.name != "__main__"
    ),
)
def test_each_module_imports_alone(module):
    result = python(f"import {module}")
    assert result.returncode == 0, result.stderr


def test_public_names_resolve():
    for name in charrnn.__all__:
        assert getattr(charrnn, name) is not None, name
    assert isinstance(charrnn.Params.random(5, 3), _core.Params)
    with pytest.raises(AttributeError):
        charrnn.no_such_name  # noqa: B018
    assert np.array_equal(charrnn.layout(5, 3)[0]["shape"], (3, 3))


def charrnn_imports(path):
    """(module, name, line) of every `from charrnn... import name` in a script, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "charrnn":
            for alias in node.names:
                yield node.module, alias.name, node.lineno


SCRIPTS = sorted(p for folder in ("benchmarks", "tools") for p in (ROOT / folder).glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_import_names_that_exist(script):
    """The benchmarks and tools are not imported by the suite; a renamed function would break
    them silently. Each name they take from charrnn must still be there."""
    missing = []
    for module, name, line in charrnn_imports(script):
        mod = importlib.import_module(module)
        if not hasattr(mod, name):
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                missing.append(f"{script.name}:{line}: {module}.{name}")
    assert not missing, missing
