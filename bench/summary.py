"""bench/summary.py: what the summaries of the bench scripts share (their
python3 heredocs import it; the scripts run them with PYTHONPATH=bench):
the runs of runs.tsv, a figure of a run, the contenders of a part in the
order they first ran, the per-round ratios of two contenders, env.txt."""
import csv
import os


def load(out):
    """(every row of OUT/runs.tsv, the timed ones: label run1, run2, ...)."""
    rows = list(csv.DictReader(open(os.path.join(out, "runs.tsv")), delimiter="\t"))
    return rows, [r for r in rows if r["label"].startswith("run")]


def num(r, k):
    """Figure k of run r; NaN when it is empty or missing."""
    return float(r[k]) if r.get(k) not in (None, "") else float("nan")


def contenders(timed, part):
    """The contenders of part, in the order they first ran."""
    seen = []
    for r in timed:
        if r["part"] == part and r["contender"] not in seen:
            seen.append(r["contender"])
    return seen


def ratios(timed, rounds, a, b, ka="wall_s", kb="wall_s"):
    """Per round: b's figure kb over a's figure ka (rounds where both ran)."""
    out = []
    for i in range(1, rounds + 1):
        va = [num(r, ka) for r in timed if r["label"] == "run%d" % i and r["contender"] == a]
        vb = [num(r, kb) for r in timed if r["label"] == "run%d" % i and r["contender"] == b]
        if va and vb:
            out.append(vb[0] / va[0])
    return out


def env(out):
    """The key: value lines of OUT/env.txt."""
    return dict(l.split(": ", 1) for l in open(os.path.join(out, "env.txt")).read().splitlines()
                if ": " in l and not l.startswith(" "))
