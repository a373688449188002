"""`reproduce --smoke` as a user runs it: interrupted and resumed, then rerun with nothing left to do.

Slow (about two minutes on 2 cores); .ci/run runs it with the other slow tests."""

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cyclegan.analysis.onset.plan import load_plan, smoke

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "experiments" / "reproduce" / "small.json"


def _command(out):
    return [sys.executable, "-m", "cyclegan", "reproduce", "--plan", str(PLAN), "--out", str(out), "--smoke",
            "--no-progress"]


def _launches(log: Path) -> int:
    return log.read_text().count("\n$ ") if log.exists() else 0


@pytest.mark.slow
def test_smoke_study_resumes_after_an_interrupt_and_reports(tmp_path):
    out = tmp_path / "study"
    plan = smoke(load_plan(PLAN))
    first = plan.run_name(plan.arms[0], plan.seeds[0])
    # A shell without job control starts background jobs with SIGINT ignored, and a child inherits
    # that: the study is given the default disposition, as in a terminal, so that Ctrl-C reaches it.
    study = subprocess.Popen(_command(out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while not list((out / "runs" / first / "checkpoints").glob("ckpt-10.index")):
        assert study.poll() is None, study.stdout.read()
        assert time.monotonic() < deadline, "no checkpoint within 4 minutes"
        time.sleep(0.5)
    study.send_signal(signal.SIGINT)
    output = study.communicate(timeout=120)[0]
    assert study.returncode == 130, output
    assert "run the same command again to resume" in output
    interrupted = sorted(int(p.name[5:-6]) for p in (out / "runs" / first / "checkpoints").glob("ckpt-*.index"))
    assert interrupted and interrupted[-1] < plan.steps

    done = subprocess.run(_command(out), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _launches(out / "logs" / f"{first}.log") == 2  # resumed, not restarted
    for arm in plan.arms:
        run = out / "runs" / plan.run_name(arm, 1)
        kept = sorted(int(p.name[5:-6]) for p in (run / "checkpoints").glob("ckpt-*.index"))
        assert kept == [10, 20, 40], arm.name
        assert (run / "config.json").is_file() and list((run / "tensorboard").rglob("events.out.tfevents.*"))
    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["arm"], row["step"], row["direction"]) for row in rows} == {
        (arm.name, str(step), direction) for arm in plan.arms for step in (10, 20, 40) for direction in ("h2c", "c2h")}
    onsets = json.loads((out / "onset.json").read_text())
    assert set(onsets["arms"]) == {arm.name for arm in plan.arms}
    assert all(run["onset_step"] is not None or run["censored_at"] == 40 for run in onsets["runs"])
    assert set(onsets["detection_limit_rms"]["32x32"]) == {"p2", "p4"}
    report = (out / "report.md").read_text()
    assert "The onset rule" in report and all(arm.name in report for arm in plan.arms)
    figures = {path.name for path in (out / "figures").glob("*.png")}
    assert {"scores.png", "onsets.png"} | {f"arm-{arm.name}.png" for arm in plan.arms} <= figures

    again = subprocess.run(_command(out), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert _launches(out / "logs" / f"{first}.log") == 2  # nothing left to train
