"""The table of a gradient check, as `charrnn gradcheck`, `charrnn check`, check_gradients and
report.md print it: the metrics of one tensor, their pass criteria, and format_table. A report
is what gradcheck.gradcheck_report (the native core) or check.py (a user's own code) returns.

Not here: computing the gradients or the metrics (gradcheck.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .losses import format_loss

__all__ = ["METRICS", "THRESHOLDS", "YOUR_SIDES", "format_table", "metric_passes", "tensor_names"]

# Pass criteria of a report. "_fd": analytic vs central differences on the same side's loss;
# "_ref": analytic vs the numpy reference's (or charrnn's) analytic on identical weights.
THRESHOLDS = {
    "norm_rel_err_fd": 1e-6,
    "max_abs_err_fd": 1e-8,
    "max_abs_diff_ref": 1e-10,
}

# Metrics of one tensor, in table order.
METRICS = (
    "max_rel_err_fd",
    "norm_rel_err_fd",
    "max_abs_err_fd",
    "max_abs_diff_ref",
    "max_abs_err_cs",
)

# The sides a report can check: the native core (gradcheck_report), the numpy reference standing
# in for it, and a user's own code (check.py), called from Python or read from a gradients file.
YOUR_SIDES = ("your code", "your file")

_WIDTH = 17  # of a metric's column


def metric_passes(metric: str, value: float) -> bool:
    """Whether a metric's value is within its threshold (a metric without one always passes;
    NaN fails)."""
    return metric not in THRESHOLDS or bool(value <= THRESHOLDS[metric])


def tensor_names(report: Mapping[str, Any]) -> list[str]:
    """The per-tensor rows of a report, in layout order (JSON keeps the order)."""
    return [name for name in report if name not in ("settings", "passed")]


def format_table(report: Mapping[str, Any]) -> str:
    """Fixed-width table of a gradcheck_report (or of check.py's report on a user's own
    gradients): one row per tensor, PASS/FAIL per row, a column per metric the rows carry.

    A value outside its threshold is marked with '*'. Rows with worst entries (compare's
    worst=True, as check.py's) are followed by one line per tensor and comparison naming the
    entry of the largest difference and both values there.
    """
    names = tensor_names(report)
    metrics = [metric for metric in METRICS if not names or metric in report[names[0]]]
    header = "tensor " + "".join(f"{metric:>{_WIDTH}}" for metric in metrics) + "  result"
    limits = "limit  " + "".join(
        f"{('<= ' + format(THRESHOLDS[m], '.0e')) if m in THRESHOLDS else '-':>{_WIDTH}}"
        for m in metrics
    )
    rule = "-" * len(header)
    settings = report.get("settings")
    lines = _heading(settings) if settings else []
    lines += [header, limits, rule, *(_row(name, report[name], metrics) for name in names), rule]
    worst = _worst_lines(report, names)
    if worst:
        lines += [*worst, rule]
    if settings:
        lines.append(_loss_line(settings))
    if "max_rel_err_fd" in metrics:
        lines.append(
            "max_rel_err_fd: information only (near-zero entries sit at the FD noise floor)"
        )
    lines.append(f"overall: {'PASS' if report['passed'] else 'FAIL'}")
    return "\n".join(lines)


def _heading(settings: Mapping[str, Any]) -> list[str]:
    """What was checked (the model, sizes, step, seed) and what each comparison is against."""
    side = settings.get("side")
    model = f"{settings.get('cell', 'rnn')} x{settings.get('layers', 1)} "
    sizes = f"K={settings['K']} m={settings['m']} T={settings['T']}" + "".join(
        f" {key}={settings[key] if key == 'seed' else format(settings[key], 'g')}"
        for key in ("h", "seed", "sig")
        if key in settings
    )
    dropout = (
        f" dropout={settings['dropout']:g} (one fixed mask)" if settings.get("dropout") else ""
    )
    order = settings.get("order", 2)
    against = {
        "your code": f"  fd: vs central differences of your loss (order {order})   ref: vs "
        f"charrnn's analytic gradient",
        "your file": "  ref: vs charrnn's analytic gradient (finite differences need your "
        "code: charrnn.check_gradients)",
    }.get(
        str(side),
        f"  fd: vs central differences (order {order})   ref: vs numpy reference   cs: vs "
        f"complex step",
    )
    return [f"gradient check ({side}): {model}{sizes}{dropout}", against]


def _row(name: str, row: Mapping[str, float], metrics: list[str]) -> str:
    """One tensor: its metrics, '*' on those outside their threshold, PASS or FAIL."""
    cells, ok = [], True
    for metric in metrics:
        passes = metric_passes(metric, row[metric])
        ok &= passes
        cells.append(f"{format(row[metric], '.2e') + ('' if passes else '*'):>{_WIDTH}}")
    return f"{name:<7}" + "".join(cells) + f"  {'PASS' if ok else 'FAIL'}"


def _worst_lines(report: Mapping[str, Any], names: list[str]) -> list[str]:
    """The entry of the largest difference of each tensor and comparison that has one."""
    worst = [
        (name, kind, report[name][f"worst_{kind}"])
        for name in names
        for kind in ("fd", "ref")
        if f"worst_{kind}" in report[name]
    ]
    if not worst:
        return []
    lines = [
        "worst entry of each tensor (largest difference; indices from 0, MATLAB's are 1 more):"
    ]
    for name, kind, entry in worst:
        other = "fd" if kind == "fd" else "charrnn"
        at = f"{name}[{', '.join(str(i) for i in entry['index'])}]"
        metric = "max_abs_err_fd" if kind == "fd" else "max_abs_diff_ref"
        mark = "" if metric_passes(metric, report[name][metric]) else "  *"
        lines.append(
            f"  {at:<14} yours {entry['analytic']:>18.10e}   {other:<7} "
            f"{entry['numeric']:>18.10e}{mark}"
        )
    return lines


def _loss_line(settings: Mapping[str, Any]) -> str:
    """The two losses compared, and their difference."""
    native = format_loss(settings["loss_native"], 12)
    if settings.get("side") not in YOUR_SIDES:
        first, second = (
            f"native {native}",
            f"reference {format_loss(settings['loss_reference'], 12)}",
        )
    elif settings.get("loss_yours") is None:
        return f"loss: charrnn {native} (yours not given, not compared)"
    else:
        first, second = f"yours {format_loss(settings['loss_yours'], 12)}", f"charrnn {native}"
    diff = settings["loss_abs_diff"]
    mark = "" if metric_passes("max_abs_diff_ref", diff) else "*"
    return f"loss: {first}  {second}  |diff| {diff:.2e}{mark}"
