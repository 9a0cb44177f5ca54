"""Sweeps: many training runs over settings, seeds and texts, on this machine or on a Ray
cluster (`charrnn sweep`). space.py reads and expands the search space, trial.py runs one trial
(a `charrnn train` run in its own folder), local.py and ray_runner.py run many, results.py
writes trials.csv, the tables, curves.png and best/; command.py is the command line.

Ray is optional and imported only by ray_runner.py, when a sweep runs on it.
"""

from charrnn.sweep.space import Sweep, SweepError, expand

__all__ = ["Sweep", "SweepError", "expand"]
