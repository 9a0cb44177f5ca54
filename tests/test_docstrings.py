"""The API reference renders docstrings as Markdown (mkdocs.yml, mkdocstrings): a line that
begins with '>' there becomes a quotation, so "> 0: clip the gradient's norm" read "0: clip the
gradient's norm" in a grey box. Every public docstring of python/charrnn and of the stub
python/charrnn/_core.pyi is read as source (no mkdocs needed) for such lines; where mkdocs and
its plugins are installed (the docs extra), the site is also built and its API pages searched
for quotations."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "python" / "charrnn"
SOURCES = sorted([*PACKAGE.rglob("*.py"), PACKAGE / "_core.pyi"])

# A line of prose that Markdown reads as a quotation: '>' first, after the docstring's indent is
# removed, or first in the description of a Google-style item ("temperature: > 0; ..."), which
# mkdocstrings renders as Markdown of its own. '>>>' begins a doctest, which is shown as code.
QUOTE = re.compile(r"^\s*(?:[\w.*]+(?:\s*\([^)]*\))?:\s+)?>(?!>>)")


def public_docstrings(path: Path) -> list[tuple[str, int, str]]:
    """(qualified name, line, docstring) of the module and of every public class, function,
    method and attribute in it (__init__ too: its docstring is shown with the class)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def public(name: str) -> bool:
        return not name.startswith("_") or name == "__init__"

    def visit(node: ast.AST, prefix: str) -> None:
        body = getattr(node, "body", [])
        doc = (
            ast.get_docstring(node, clean=False)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            else None
        )
        if doc:
            found.append((prefix, node.lineno if hasattr(node, "lineno") else 1, doc))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        for i, child in enumerate(body):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                if public(child.name):
                    visit(child, f"{prefix}.{child.name}")
            elif isinstance(child, (ast.Assign, ast.AnnAssign)) and i + 1 < len(body):
                targets = child.targets if isinstance(child, ast.Assign) else [child.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                after = body[i + 1]
                if (
                    names
                    and all(public(n) for n in names)
                    and isinstance(after, ast.Expr)
                    and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)
                ):
                    found.append((f"{prefix}.{names[0]}", after.lineno, after.value.value))

    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    visit(tree, module.removesuffix(".__init__"))
    return found


def quoted_lines(doc: str) -> list[str]:
    return [line for line in inspect.cleandoc(doc).splitlines() if QUOTE.match(line)]


def test_the_scan_finds_what_markdown_would_quote():
    doc = """Sample.

    Args:
        temperature: > 0; below 1 sharper.
        top_p: In (0, 1].

    Examples:
        >>> model.sample(10)
    """
    assert quoted_lines(doc) == ["    temperature: > 0; below 1 sharper."]
    assert quoted_lines('"""> 0: clip the norm."""'.strip('"')) == ["> 0: clip the norm."]
    assert quoted_lines("a <= b, and a\n>= c") == [">= c"]


def test_no_public_docstring_has_a_line_markdown_reads_as_a_quotation():
    assert len(SOURCES) > 10 and PACKAGE / "_core.pyi" in SOURCES
    names = {name for path in SOURCES for name, _, _ in public_docstrings(path)}
    assert {
        "charrnn.config.TrainConfig.clip_norm",
        "charrnn.model.Model.sample",
        "charrnn._core.Trainer.clip_norm",
        "charrnn._core.adam_step",
    } <= names
    bad = [
        f"{path.relative_to(ROOT)}:{line} {name}: {text.strip()!r}"
        for path in SOURCES
        for name, line, doc in public_docstrings(path)
        for text in quoted_lines(doc)
    ]
    assert not bad, "reword these lines (Markdown shows them as quotations):\n" + "\n".join(bad)


def docs_tools_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None
        for name in ("mkdocs", "mkdocstrings_handlers.python", "material")
    )


@pytest.mark.slow
@pytest.mark.skipif(not (ROOT / "mkdocs.yml").exists(), reason="no mkdocs.yml (not a checkout)")
@pytest.mark.skipif(
    not docs_tools_installed(), reason="mkdocs is not installed (pip install '.[docs]')"
)
def test_the_built_api_pages_have_no_quotations(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    pages = sorted((site / "api").rglob("*.html"))
    assert pages
    quoted = [
        (page.relative_to(site), match.group(1).strip()[:120])
        for page in pages
        for match in re.finditer(
            r"<blockquote>(.*?)</blockquote>", page.read_text(encoding="utf-8"), re.S
        )
    ]
    assert not quoted, quoted
