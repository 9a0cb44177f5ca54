"""A sweep's results, the same for both runners: trials.csv (a row a trial), the ranking by
validation bits per character (or, without a validation split, by the smooth training loss,
and it says so), the table averaged over seeds, curves.png, and best/ (the best trial's
checkpoints and settings, for `charrnn sample`, `evaluate` and `export`).

Not here: running trials (local.py, ray_runner.py).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path
from typing import Any

from charrnn.sweep.space import describe, show, varying
from charrnn.sweep.trial import DONE, FAILED, STOPPED

COLUMNS = [
    "best_bits_per_char",
    "best_step",
    "final_smooth_loss",
    "updates",
    "seconds",
    "status",
    "message",
]
MAX_ROWS = 30  # printed; trials.csv holds them all


def ranked(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records with a loss first, lowest first; then the others in trial order."""
    scored = [r for r in records if r.get("bits") is not None and r["status"] != FAILED]
    rest = [r for r in records if r not in scored]
    return sorted(scored, key=lambda r: r["bits"]) + sorted(rest, key=lambda r: r["id"])


def metric_name(records: list[dict[str, Any]]) -> str:
    """What ranks the trials: the validation loss, unless no trial has one."""
    if any(r.get("metric") == "val" for r in records):
        return "validation bits per character (best)"
    return "smooth training loss in bits per character (final; no validation split)"


def write_csv(path: Path, records: list[dict[str, Any]], names: list[str]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["trial", *names, *COLUMNS])
        for r in sorted(records, key=lambda r: r["id"]):
            out.writerow(
                [
                    r["id"],
                    *("" if r["settings"].get(n) is None else r["settings"][n] for n in names),
                    "" if r.get("bits") is None else f"{r['bits']:.6f}",
                    "" if r.get("best_step") is None else r["best_step"],
                    "" if r.get("smooth_loss") is None else f"{r['smooth_loss']:.6f}",
                    r.get("updates", 0),
                    f"{r.get('seconds', 0.0):.2f}",
                    r["status"],
                    r.get("message", ""),
                ]
            )


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(h).rjust(w) for h, w in zip(header, widths))]
    lines += ["  ".join(str(x).rjust(w) for x, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def ranking_table(records: list[dict[str, Any]], names: list[str]) -> str:
    """The trials ranked, best first."""
    rows = []
    order = ranked(records)
    for i, r in enumerate(order[:MAX_ROWS]):
        rows.append(
            [
                str(i + 1),
                r["id"],
                *(show(n, r["settings"].get(n)) for n in names),
                "-" if r.get("bits") is None else f"{r['bits']:.4f}",
                "-" if r.get("best_step") is None else str(r["best_step"]),
                str(r.get("updates", 0)),
                f"{r.get('seconds', 0.0):.1f}",
                r["status"] + (f": {r['message']}" if r["status"] == FAILED else ""),
            ]
        )
    text = _table(["rank", "trial", *names, "bits", "step", "updates", "seconds", "status"], rows)
    if len(order) > MAX_ROWS:
        text += f"\n... {len(order) - MAX_ROWS} more in trials.csv"
    return text


def seed_groups(records: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The finished trials (done) grouped by their settings apart from the seed: each group's
    mean and standard deviation (n - 1) of the ranking loss, lowest mean first."""
    keys = [n for n in names if n != "seed"]
    groups: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["status"] != DONE or r.get("bits") is None:
            continue
        key = json.dumps([r["settings"].get(n) for n in keys])
        group = groups.setdefault(key, {"settings": r["settings"], "bits": []})
        group["bits"].append(r["bits"])
    out = []
    for group in groups.values():
        b = group["bits"]
        mean = sum(b) / len(b)
        sd = math.sqrt(sum((x - mean) ** 2 for x in b) / (len(b) - 1)) if len(b) > 1 else None
        out.append({"settings": group["settings"], "n": len(b), "mean": mean, "sd": sd})
    return sorted(out, key=lambda g: g["mean"])


def seeds_table(records: list[dict[str, Any]], names: list[str]) -> str | None:
    keys = [n for n in names if n != "seed"]
    groups = seed_groups(records, names)
    if not groups or "seed" not in names:
        return None
    rows = [
        [
            *(show(n, g["settings"].get(n)) for n in keys),
            str(g["n"]),
            f"{g['mean']:.4f} ± {g['sd']:.4f}" if g["sd"] is not None else f"{g['mean']:.4f}",
        ]
        for g in groups[:MAX_ROWS]
    ]
    return _table([*keys, "seeds", "bits (mean ± sd)"], rows)


def plot_curves(path: Path, records: list[dict[str, Any]], title: str) -> None:
    """curves.png: the ranking loss against updates, every trial thin and grey, the best one
    drawn over them in colour."""
    from charrnn.plot import load_pyplot

    plt = load_pyplot()
    order = ranked(records)
    best = order[0] if order and order[0].get("bits") is not None else None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in records:
        if r is best or not r.get("curve"):
            continue
        s, b = zip(*r["curve"])
        style = dict(color="0.55", lw=0.8, alpha=0.7)
        if r["status"] == STOPPED:
            style.update(ls="--")
        ax.plot(s, b, **style)
    if best is not None and best.get("curve"):
        s, b = zip(*best["curve"])
        ax.plot(s, b, color="C3", lw=2, label=f"best: {best['id']}")
    val = any(r.get("metric") == "val" for r in records)
    ax.set_xlabel("updates")
    ax.set_ylabel("validation bits per character" if val else "smooth training bits per char")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    if best is not None:
        ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def copy_best(out: Path, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    """best/: the best trial's best.npz, last.npz, metrics.csv and config.json (its settings,
    its record)."""
    order = ranked(records)
    if not order or order[0].get("bits") is None:
        return None
    best = order[0]
    folder = Path(best["folder"])
    target = out / "best"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in ("best.npz", "last.npz", "metrics.csv", "samples.txt", "loss.png"):
        if (folder / name).exists():
            shutil.copy2(folder / name, target / name)
    config = {k: v for k, v in best.items() if k != "curve"}
    (target / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    return best


def early_stop_summary(records: list[dict[str, Any]], steps: int) -> str | None:
    """How many trials ASHA stopped, and the training time that saved: each stopped trial's
    remaining updates at its own speed."""
    stopped = [r for r in records if r["status"] == STOPPED]
    if not stopped:
        return None
    saved = sum(
        (steps - r["updates"]) * r["seconds"] / r["updates"] for r in stopped if r["updates"] > 0
    )
    spent = sum(r.get("seconds", 0.0) for r in records)
    return (
        f"{len(stopped)} of {len(records)} trials stopped early, after "
        f"{sum(r['updates'] for r in stopped):,} of {len(stopped) * steps:,} updates; about "
        f"{saved:.0f} s of trial time saved ({saved / (spent + saved):.0%} of running them all, "
        f"{spent + saved:.0f} s)"
    )


def finish(
    out: Path, trials: list[dict[str, Any]], records: list[dict[str, Any]], steps: int
) -> str:
    """Write trials.csv, curves.png and best/; the tables as text (printed at the end)."""
    names = varying(trials) or ["seed"]
    write_csv(out / "trials.csv", records, names)
    metric = metric_name(records)
    counts = {s: sum(r["status"] == s for r in records) for s in {r["status"] for r in records}}
    lines = [
        f"{len(records)} trials ("
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + f"), ranked by {metric}:",
        ranking_table(records, names),
    ]
    table = seeds_table(records, names)
    if table is not None:
        lines += ["", "averaged over seeds (finished trials):", table]
    summary = early_stop_summary(records, steps)
    if summary:
        lines += ["", summary]
    if any(r.get("curve") for r in records):
        plot_curves(out / "curves.png", records, f"{out.name}: {len(records)} trials")
    best = copy_best(out, records)
    if best is not None:
        lines += [
            "",
            f"best: {best['id']} ({describe(best['settings'], names)}), "
            f"{best['bits']:.4f} bits per character; its checkpoints in {out / 'best'}/",
        ]
    lines.append(
        f"wrote {out}/: trials.csv"
        + (", curves.png" if (out / "curves.png").exists() else "")
        + (", best/" if best is not None else "")
    )
    return "\n".join(lines)
