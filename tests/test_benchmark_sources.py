"""The C++ benchmarks (benchmarks/*.cpp) are built by hand, not by pip, so nothing else notices
when a change to the core's headers breaks them. Each must still compile against this tree, for
both CPU levels the build picks from (their SIMD paths differ), and ab_core.cpp in both of its
roles (a side's runner, the timing loop). Syntax only: a few seconds each."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "benchmarks").glob("*.cpp"))
ARCHS = ["x86-64-v3", "x86-64-v4"]


def compiler() -> str:
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")
    if not cxx:
        pytest.fail("no C++ compiler (CXX, c++ or g++): the package itself needs one to build")
    return cxx


def compile_only(source: Path, arch: str, *defines: str) -> subprocess.CompletedProcess:
    command = [compiler(), "-std=c++17", "-fsyntax-only", f"-march={arch}", "-DNDEBUG"]
    command += ["-DEIGEN_MPL2_ONLY", "-I", "cpp", "-isystem", "cpp/third_party/eigen"]
    command += [*defines, str(source)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_there_are_benchmark_sources():
    names = {p.name for p in SOURCES}
    assert {"ab_core.cpp", "step_parts.cpp", "optim_step.cpp", "matvec_bound.cpp"} <= names


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_benchmark_compiles(source, arch):
    result = compile_only(source, arch)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize("arch", ARCHS)
def test_ab_core_side_compiles(arch):
    result = compile_only(
        ROOT / "benchmarks" / "ab_core.cpp", arch, "-DCHARRNN_AB_SIDE", "-Dcharrnn=vA"
    )
    assert result.returncode == 0, result.stderr[-3000:]
