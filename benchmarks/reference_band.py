"""Long training runs of the native trainer and the numpy reference loop, as smooth-loss bands
over seeds. Two correct implementations part ways after ~10 AdaGrad updates at eta = 0.1 (early
updates amplify rounding ~50x each), so long runs are compared as distributions, not bit for bit.

    python benchmarks/reference_band.py [--steps 100000] [--seeds 0 1 2] [--jobs 2]

Prints the smooth loss of every run at a few steps, the reference's band (min..max over seeds)
and whether each native run's final smooth loss falls within the band widened by its own
spread. The reference loop is plain numpy (~330 updates/s at m=100), so 100,000 updates take
about 5 minutes per seed.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def one_run(kind: str, seed: int, steps: int) -> dict:
    from charrnn import reference
    from charrnn.data import load_corpus
    from charrnn.train import TrainConfig, Trainer

    text, vocab, encoded = load_corpus()
    start = time.perf_counter()
    if kind == "native":
        _, smooth = Trainer(text, TrainConfig(seed=seed)).train(steps)
    else:
        # The same initial weights as the native trainer: copied out of a native Params.
        from charrnn import _core

        params = reference.Params.from_native(
            _core.Params.random(vocab.K, 100, sig=0.01, seed=seed)
        )
        _, smooth = reference.train(params, encoded, steps)
    seconds = time.perf_counter() - start
    marks = [s for s in (1_000, 10_000, 50_000, 100_000, steps) if s <= steps]
    return {
        "kind": kind,
        "seed": seed,
        "seconds": seconds,
        "smooth": {str(s): float(smooth[s - 1]) for s in sorted(set(marks))},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=("reference", "native"),
        default=["reference", "native"],
        help="native alone takes ~1 minute: for re-measuring after a core change",
    )
    args = parser.parse_args()
    jobs = [(kind, seed, args.steps) for seed in args.seeds for kind in args.kinds]
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(one_run, *zip(*jobs)))
    if args.json:
        print(json.dumps(runs, indent=2))
        return
    marks = list(runs[0]["smooth"])
    print(f"smooth loss at update ({args.steps:,} updates, m=100, T=25, eta=0.1, embedded corpus)")
    print(f"{'run':<16}" + "".join(f"{m:>10}" for m in marks) + f"{'seconds':>10}")
    for r in runs:
        print(
            f"{r['kind'] + ' seed ' + str(r['seed']):<16}"
            + "".join(f"{r['smooth'][m]:>10.3f}" for m in marks)
            + f"{r['seconds']:>10.1f}"
        )
    final = marks[-1]
    if len(args.kinds) < 2:
        return
    ref = np.array([r["smooth"][final] for r in runs if r["kind"] == "reference"])
    nat = np.array([r["smooth"][final] for r in runs if r["kind"] == "native"])
    print(
        f"\nat {final}: reference {ref.min():.3f} .. {ref.max():.3f} (mean {ref.mean():.3f}), "
        f"native {nat.min():.3f} .. {nat.max():.3f} (mean {nat.mean():.3f})"
    )
    inside = (nat >= ref.min() - 0.5 * np.ptp(ref)) & (nat <= ref.max() + 0.5 * np.ptp(ref))
    print(
        f"native runs within the reference band (widened by half its spread): "
        f"{int(inside.sum())} of {len(nat)}"
    )


if __name__ == "__main__":
    main()
