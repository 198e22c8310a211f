"""Streams a run while the spec kills the server (SIGKILL) and starts it again.

usage: python3 python-restart.py URL STEPS SNAPSHOT_EVERY
Prints "step N" as it goes (the spec kills the server on one), then one JSON line.
"""
import json
import math
import random
import sys
import time

from phasewatch_client import PhasewatchError, Run

url, steps, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
N, S = 24, 8
rng = random.Random(7)


def snapshot_arrays():
    labels, images, acts = [], [], []
    for _ in range(N):
        x, y = rng.randrange(1, S - 1), rng.randrange(1, S - 1)
        labels.append([x, y])
        images.append([[2 * math.exp(-((c - x) ** 2 + (r - y) ** 2) / 2) - 1 for c in range(S)] for r in range(S)])
        acts.append([x, y, x + y, x - y])
    return labels, images, acts


out = {"errors": []}
run = Run(url, name="killed and restarted", assess={"embed": "pca", "confirm": 1},
          flush_every=0.02, retry_for=60, timeout=10)
out["runId"] = run.run_id
for step in range(1, steps + 1):
    try:
        run.step(step, 1.0 / step)
        run.log(step, loss=1.0 / step, lr=1e-3)
        if step % every == 0:
            run.snapshot(step, *snapshot_arrays())
    except PhasewatchError as e:  # typed, and nothing queued is lost: go on
        out["errors"].append(str(e))
    print(f"step {step}", flush=True)
    time.sleep(0.004)
out["finish"] = run.finish()
print(json.dumps(out), flush=True)
