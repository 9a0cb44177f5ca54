"""README's examples, and those of the pages under docs/, run as written.

What runs, page by page, in the order the page shows it:

- every ```python block, each in a fresh interpreter, as a reader would paste it;
- every ```bash block whose line just above is the marker `<!-- readme-test: run -->` (an HTML
  comment: GitHub and the docs site do not show it), each line as a shell command, and the
  block stops at the first command that fails. Unmarked bash blocks (installing, the
  developer's commands) are not run.

A page's blocks share one temporary folder, so a block may read what an earlier one wrote (a
run folder, best.npz). The folder holds the two texts the examples call "your own":
input.txt, the first 20,000 characters of the embedded corpus, and names.txt, one name per line
(tests/data/names.txt). Blocks that import torch are skipped where torch does not import.

Speed: README shows the real commands (the assignment is 100,000 updates and a gradient check
of every entry of an m = 100 model). SPEEDUPS lists, per page, the exact strings this test
replaces in the runnable blocks before running them, and what with. Every entry must occur in
the page, so one that no longer matches fails the test rather than letting the slow command
run; nothing else is changed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import slow_when

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- readme-test: run -->"
PAGES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md"))]

# page -> [(as shown, as run)]
SPEEDUPS: dict[str, list[tuple[str, str]]] = {
    "README.md": [
        ("charrnn gradcheck ", "charrnn gradcheck --m 8 "),
        ("--steps 100000 --seed 0 --out run", "--steps 300 --seed 0 --out run --no-gradcheck"),
        ("--steps 2000 --no-gradcheck", "--steps 200 --no-gradcheck"),
        ("--steps 2000 --out names", "--steps 200 --out names --no-gradcheck"),
    ],
    "docs/assignment.md": [
        ("charrnn gradcheck ", "charrnn gradcheck --m 8 "),
        ("--steps 100000 --seed 0 --out run", "--steps 300 --seed 0 --out run --no-gradcheck"),
    ],
    "docs/inspect.md": [("--steps 2000 --out runs/X", "--steps 30 --out runs/X --no-gradcheck")],
    "docs/getting-started.md": [
        ("--steps 100000 --out run", "--steps 300 --out run --no-gradcheck"),
        ("--resume run --steps 150000", "--resume run --steps 400 --no-gradcheck"),
    ],
}


@dataclass
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    code: str
    marked: bool


def blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, with their language and whether the marker
    line stands just above the fence."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"^(\s*)```(\w*)", lines[i])
        if not match:
            i += 1
            continue
        indent, lang, start = match.group(1), match.group(2), i
        above = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        out.append(Block(lang, start + 1, "\n".join(body) + "\n", above == MARKER))
        i += 1
    return out


def runnable(page: str) -> list[Block]:
    return [
        b
        for b in blocks((ROOT / page).read_text(encoding="utf-8"))
        if b.lang == "python" or (b.lang == "bash" and b.marked)
    ]


def test_the_marker_is_only_used_on_bash_blocks():
    for page in PAGES:
        for block in blocks((ROOT / page).read_text(encoding="utf-8")):
            assert not block.marked or block.lang == "bash", f"{page}:{block.line}"


def test_readme_is_short_and_has_runnable_blocks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    kinds = [b.lang for b in runnable("README.md")]
    assert kinds.count("python") >= 3 and kinds.count("bash") >= 2


def test_readme_starts_with_ci_s_test_command():
    """.ci/run runs README's test command; the two must stay identical."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "pip install '.[test]' && pytest"
    first_block = next(b for b in blocks(readme) if b.lang == "bash")
    assert command in first_block.code
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert any(line.strip() == command for line in ci.splitlines())


@pytest.fixture
def folder(tmp_path, corpus):
    (tmp_path / "input.txt").write_text(corpus[0][:20_000], encoding="utf-8")
    names = (ROOT / "tests" / "data" / "names.txt").read_text(encoding="utf-8")
    (tmp_path / "names.txt").write_text(names, encoding="utf-8")
    return tmp_path


def run_block(block: Block, page: str, cwd: Path) -> None:
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    if block.lang == "python":
        command = [sys.executable, "-c", block.code]
    else:
        command = ["bash", "-e", "-o", "pipefail", "-c", block.code]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, (
        f"{page}:{block.line}: the {block.lang} block failed (exit {result.returncode})\n"
        f"--- block as run\n{block.code}--- stdout (end)\n{result.stdout[-3000:]}"
        f"--- stderr (end)\n{result.stderr[-3000:]}"
    )


# The pages that train a model (10-20 s each) are slow; the fast loop runs the others.
TRAINING_PAGES = {
    "README.md",
    "docs/assignment.md",
    "docs/checkpoints.md",
    "docs/getting-started.md",
}


@pytest.mark.parametrize(
    "page", slow_when([p for p in PAGES if runnable(p)], lambda p: p in TRAINING_PAGES)
)
def test_the_examples_of_a_page_run(page, folder):
    speedups = SPEEDUPS.get(page, [])
    todo = runnable(page)
    for shown, _ in speedups:
        assert any(shown in b.code for b in todo), (
            f"SPEEDUPS[{page!r}]: {shown!r} is no longer in a runnable block of the page"
        )
    torch = importlib.util.find_spec("torch") is not None
    for block in todo:
        if (
            block.lang == "python"
            and re.search(r"^\s*import torch", block.code, re.M)
            and not torch
        ):
            continue
        for shown, fast in speedups:
            block.code = block.code.replace(shown, fast)
        run_block(block, page, folder)
