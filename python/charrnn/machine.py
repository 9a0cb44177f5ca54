"""The machine charrnn runs on: its CPU, the cores this process may use, and the CPU level the
native core was built for, and whether a model fits in its memory. Every figure charrnn reports
names the machine (report.md, the benchmarks).
"""

from __future__ import annotations

import os
import platform
import signal
from typing import TYPE_CHECKING

from charrnn import _core

if TYPE_CHECKING:
    from charrnn.config import TrainConfig

__all__ = [
    "available_cores",
    "available_memory",
    "check_memory",
    "core_build",
    "cpu_model",
    "describe",
    "die_with_parent",
]


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# What each CPU level of cmake/arch.cmake lets the compiler use (docs/getting-started.md). Eigen's
# own list (_core.SIMD) names neither AVX2 nor FMA on an x86-64-v3 build ("AVX SSE, SSE2, ..."),
# so it is only used for the baseline, where it is right ("SSE, SSE2", "ARM NEON").
ARCH_SETS = {
    "x86-64-v4": "AVX-512, AVX2, FMA",
    "x86-64-v3": "AVX2, FMA",
    "native": "every instruction set of the CPU it was built on",
}


def core_build() -> str:
    """The CPU level the core was built for and what it uses, e.g. "x86-64-v3: AVX2, FMA"."""
    if _core.ARCH == "portable":
        return f"portable: {_core.SIMD or 'no SIMD'} (the compiler's baseline)"
    sets = ARCH_SETS.get(_core.ARCH)
    return f"{_core.ARCH}: {sets}" if sets else _core.ARCH


def cpu_model() -> str:
    """The CPU's name: /proc/cpuinfo's 'model name' (Linux on x86), else platform.processor(),
    else the machine type."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe() -> str:
    """The machine, as report.md and the benchmarks name it: the CPU, its cores, Python, and
    the core's build."""
    cores = os.cpu_count() or 1
    return (
        f"{cpu_model()} ({cores} core{'s' if cores > 1 else ''}, {platform.machine()}), "
        f"{platform.python_implementation()} {platform.python_version()}, core built for "
        f"{core_build()}"
    )


def die_with_parent(parent: int) -> None:
    """In a child process (Linux): ask the kernel to SIGTERM it when its parent dies, so that a
    `kill -9` of `charrnn train` or `charrnn sweep` does not leave it computing for nobody; exit
    at once if the parent died before the request took effect."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)


def available_memory() -> int | None:
    """Bytes the kernel says can be allocated without swapping (Linux), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(K: int, config: TrainConfig) -> None:
    """MemoryError, with the figures, when the model cannot fit in RAM. An --m that fits the
    address space but not RAM (m=40000: ~80 GB) was otherwise killed by the kernel's OOM killer
    with no message at all, after minutes of swapping."""
    available = available_memory()
    if available is None or config.m >= 2**31:  # the native core's own size error says more
        return
    entries = sum(e["size"] for e in config.spec(K).layout())
    itemsize = 4 if config.dtype == "float32" else 8
    # The float64 initial draw, then parameters, gradients, the optimizer's state (Adam keeps two
    # moments), the best copy and the cast's temporary in the training dtype.
    state = 2 if config.optimizer == "adam" else 1
    needed = entries * (8 + (4 + state) * itemsize)
    if needed > available:
        raise MemoryError(
            f"{config.cell} with {config.layers} layer(s) of m={config.m} needs about "
            f"{needed / 2**30:.1f} GiB for the parameters, gradients, "
            f"optimizer state and best copy, but {available / 2**30:.1f} GiB is available"
        )
