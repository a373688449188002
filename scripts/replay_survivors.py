"""Apply each surviving mutant of a cosmic-ray report to the checkout again and run today's tests on it.

Usage: python scripts/replay_survivors.py mutation/<module>.txt "<pytest arguments>"
e.g.   python scripts/replay_survivors.py mutation/analysis.readers.roc.txt "--noconftest tests/test_roc.py"

Prints "killed" or "SURVIVES" with the changed lines of each survivor, then the count still
surviving. Each diff is applied with `git apply` and reverted before the next, so the checkout ends
as it began; a diff that no longer applies (the module changed since the run) is reported as such.
"""

from __future__ import annotations

import subprocess
import sys

SURVIVED = "SURVIVED"
DIFF_MARK = "--- mutation diff ---"
APPLY = ["-C1"]  # cosmic-ray's diffs end a hunk at the file's end with one blank context line too many


def survivor_patches(report: str) -> list[str]:
    """The unified diffs of the report's surviving mutants, each hunk read to the length its header gives."""
    patches = []
    for job in report.split("[job-id]"):
        if SURVIVED not in job or DIFF_MARK not in job:
            continue
        diff = job.split(DIFF_MARK, 1)[1]
        lines = diff[diff.index("--- a/"):].splitlines()
        patch, index = lines[:2], 2
        while index < len(lines) and lines[index].startswith("@@"):
            old_count, new_count = (int(part.split(",")[1]) if "," in part else 1
                                    for part in lines[index].split()[1:3])
            patch.append(lines[index])
            index += 1
            while old_count > 0 or new_count > 0:
                line = lines[index]
                old_count -= not line.startswith("+")
                new_count -= not line.startswith("-")
                patch.append(line)
                index += 1
        patches.append("\n".join(patch) + "\n")
    return patches


def changed_lines(patch: str) -> str:
    return " | ".join(line for line in patch.splitlines()
                      if line.startswith(("+", "-")) and not line.startswith(("+++", "---")))


def main(report_path: str, pytest_args: str) -> int:
    patches = survivor_patches(open(report_path).read())
    surviving = 0
    for patch in patches:
        applied = subprocess.run(["git", "apply", *APPLY, "-"], input=patch, text=True, capture_output=True)
        if applied.returncode:
            print("does not apply:", changed_lines(patch))
            continue
        try:
            tests = subprocess.run(f"{sys.executable} -m pytest -x -q {pytest_args}", shell=True, capture_output=True)
        finally:
            subprocess.run(["git", "apply", "-R", *APPLY, "-"], input=patch, text=True, check=True, capture_output=True)
        surviving += tests.returncode == 0
        print("SURVIVES" if tests.returncode == 0 else "killed  ", changed_lines(patch))
    print(f"{len(patches)} survivors replayed, {surviving} still survive")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
