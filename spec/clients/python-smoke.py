"""Drives clients/python/phasewatch_client.py against a live server; prints one JSON line.

usage: python3 python-smoke.py URL [--numpy]
"""
import json
import math
import random
import sys

from phasewatch_client import PhasewatchError, Run

url = sys.argv[1]
use_numpy = "--numpy" in sys.argv
N, S = 30, 8
rng = random.Random(4)


def snapshot_arrays(noisy):
    labels, images, acts = [], [], []
    for _ in range(N):
        x, y = rng.randrange(S), rng.randrange(S)
        labels.append([x, y])
        images.append([[rng.uniform(-1, 1) if noisy else 2 * math.exp(-((c - x) ** 2 + (r - y) ** 2) / 2) - 1
                         for c in range(S)] for r in range(S)])
        acts.append([rng.random() for _ in range(6)] if noisy else [x, y, x + y, x - y, math.sin(x), math.cos(y)])
    if use_numpy:
        import numpy as np
        return np.array(labels, dtype=np.int64), np.array(images), np.array(acts, dtype=np.float32)
    return labels, images, acts


out = {"errors": {}}
run = Run(url, name="python smoke", config={"lr": 0.001, "numpy": use_numpy}, assess={"embed": "pca", "confirm": 1})
out["runId"] = run.run_id
for step in range(1, 21):
    run.log(step, loss=1.0 / step, **{"probe/acc": step / 20})
    run.step(step, 1.0 / step, 100.0)
run.event("alert", 5, level="info", message="halfway")
out["snap1"] = run.snapshot(10, *snapshot_arrays(False), sample_ms=3)
out["snap2"] = run.snapshot(20, *snapshot_arrays(True))
for name, call in [
    ("badValue", lambda: run.log(3, loss="high")),
    ("badStep", lambda: run.log(-1, loss=1.0)),
    ("nan", lambda: run.log(3, loss=float("nan"))),
]:
    try:
        call()
    except ValueError as e:
        out["errors"][name] = str(e)
try:
    run.event("histogram", 3, name="h")
except ValueError as e:
    out["errors"]["kind"] = str(e)
run._pending.append({"type": "histogram", "step": 3, "name": "h"})  # past the client's check
run.flush()
out["errors"]["server"] = run.refused[-1][1]
try:
    run.snapshot(20, *snapshot_arrays(False))
except PhasewatchError as e:
    out["errors"]["sameStep"] = str(e)
out["finish"] = run.finish()
out["status"] = run.status()
try:
    run.log(21, loss=0.1)
except PhasewatchError as e:
    out["errors"]["afterFinish"] = str(e)
try:
    Run(url.split("?")[0], token="wrong")
except PhasewatchError as e:
    out["errors"]["token"] = str(e)
failing = Run(url, name="raises")
out["failingId"] = failing.run_id
try:
    with failing:
        raise RuntimeError("CUDA out of memory")
except RuntimeError:
    pass
forgot = Run(url, name="forgot to finish")
forgot.log(1, loss=0.5)
out["forgotId"] = forgot.run_id
print(json.dumps(out))
