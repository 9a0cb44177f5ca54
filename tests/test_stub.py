"""python/charrnn/_core.pyi against the compiled module: the same names, and for every function
and method the same arguments in the same order with the same defaults; and the committed stub is
the one tools/make_stub.py generates from the module now. The stub is what the API reference and
type checkers read (the compiled functions are overloaded for float64 and float32, so Python
itself shows them as (*args, **kwargs)); this keeps it from drifting."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest
from charrnn import _core

STUB = Path(_core.__file__).with_name("_core.pyi")
if not STUB.exists():  # an installed package whose stub is beside the source instead
    STUB = Path(__file__).resolve().parents[1] / "python" / "charrnn" / "_core.pyi"
TREE = ast.parse(STUB.read_text(encoding="utf-8"))


def split_top(text: str) -> list[str]:
    """Split on commas that are not inside brackets or quotes."""
    parts, depth, quote, current = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def runtime_signatures(obj, name: str) -> list[list[tuple[str, object]]]:
    """Every overload of a pybind11 function as [(argument, default or ...)], without self."""
    out = []
    for line in (obj.__doc__ or "").splitlines():
        match = re.match(rf"^(?:\d+\. )?{re.escape(name)}\((.*)\) -> ", line)
        if not match:
            continue
        args = []
        for part in split_top(match.group(1)):
            arg, _, default = part.partition(" = ")
            arg = arg.split(":")[0].strip()
            if arg == "self":
                continue
            args.append((arg, ast.literal_eval(default) if default else ...))
        out.append(args)
    return out


def stub_signature(node: ast.FunctionDef) -> list[tuple[str, object]]:
    args = node.args.posonlyargs + node.args.args
    defaults = [...] * (len(args) - len(node.args.defaults)) + [
        ast.literal_eval(d) for d in node.args.defaults
    ]
    out = [(a.arg, d) for a, d in zip(args, defaults) if a.arg != "self"]
    if node.args.kwonlyargs:  # pybind11 writes py::kw_only() as a bare `*`
        out.append(("*", ...))
        out += [
            (a.arg, ... if d is None else ast.literal_eval(d))
            for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults)
        ]
    return out


def stub_members(body) -> dict[str, ast.AST]:
    out = {}
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[node.name] = node
        elif isinstance(node, ast.AnnAssign):
            out[node.target.id] = node
    return out


MODULE = stub_members(TREE.body)


def public(names) -> set[str]:
    return {n for n in names if not n.startswith("__")}


def test_the_stub_names_every_name_of_the_module_and_no_other():
    runtime = public(dir(_core))
    assert public(MODULE) == runtime


@pytest.mark.parametrize(
    "name", sorted(n for n, node in MODULE.items() if isinstance(node, ast.FunctionDef))
)
def test_a_function_has_the_modules_arguments_and_defaults(name):
    node = MODULE[name]
    assert ast.get_docstring(node), f"{name} has no docstring in the stub"
    signatures = runtime_signatures(getattr(_core, name), name)
    assert signatures, f"no signature found in {name}.__doc__"
    for signature in signatures:  # the float64 and the float32 overload alike
        assert stub_signature(node) == signature, name


@pytest.mark.parametrize(
    "name", sorted(n for n, node in MODULE.items() if isinstance(node, ast.ClassDef))
)
def test_a_class_has_the_modules_members_and_arguments(name):
    node = MODULE[name]
    assert ast.get_docstring(node), f"{name} has no docstring in the stub"
    cls = getattr(_core, name)
    members = stub_members(node.body)
    runtime = public(n for n in dir(cls) if not n.startswith("_"))
    assert public(n for n in members if not n.startswith("_")) == runtime, name
    for member, sub in members.items():
        if not isinstance(sub, ast.FunctionDef) or member.startswith("__") and member != "__init__":
            continue
        decorators = [ast.unparse(d) for d in sub.decorator_list]
        if any(d == "property" or d.endswith(".setter") for d in decorators):
            assert isinstance(getattr(cls, member), property), f"{name}.{member}"
            continue
        signatures = runtime_signatures(getattr(cls, member), member)
        assert signatures, f"no signature found in {name}.{member}.__doc__"
        for signature in signatures:
            assert stub_signature(sub) == signature, f"{name}.{member}"


def test_the_stub_is_the_generated_one():
    """Docstrings and signatures are written once, in cpp/bindings/; the stub is generated from
    the module (tools/make_stub.py). A stale stub fails here: regenerate it."""
    pytest.importorskip("pybind11_stubgen")
    tool = Path(__file__).resolve().parents[1] / "tools" / "make_stub.py"
    if not tool.exists():
        pytest.skip("tools/make_stub.py is not beside this test (an installed package)")
    spec = importlib.util.spec_from_file_location("make_stub", tool)
    make_stub = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_stub)
    fresh = make_stub.generate()
    committed = STUB.read_text(encoding="utf-8")
    assert make_stub.normalised(committed) == make_stub.normalised(fresh), (
        "python/charrnn/_core.pyi differs from the module's: run python tools/make_stub.py"
    )
