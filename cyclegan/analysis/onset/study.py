"""`reproduce` from end to end: train (or resume) a plan's runs, score them, write the report."""

from __future__ import annotations

from .plan import Plan
from .report import write_report
from .runner import Study, default_parallel


def run_study(plan: Plan, out_dir, data_dirs=(), parallel: int | None = None, progress: bool = True,
              report_only: bool = False, arms=(), seeds=()) -> dict:
    """Train (or resume) and score every run of `plan` in `out_dir`, then write the report; returns
    onset.json's content. `parallel`: trainings at once (default: one per core); `report_only`:
    score what is there and report, training nothing; `arms`, `seeds`: only these (default: all)."""
    parallel = parallel or default_parallel()
    if parallel < 1:
        raise ValueError(f"parallel must be at least 1; got {parallel}")
    study = Study(plan, out_dir, data_dirs, arms, seeds)
    study.start()
    if not report_only:
        study.train(parallel, progress)
    for run in study.runs:
        study.score(run)
    return write_report(study)
