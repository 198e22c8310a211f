"""Streams representation snapshots of known structure (no structure, scrambled, ordered) with
the standard library only, and tries bad ones; prints what happened as one JSON line."""
import json
import math
import random
import sys

from phasewatch_client import PhasewatchError, Run

url = sys.argv[1]
rng = random.Random(3)
N, D = 120, 16
W = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(D)]
B = [[rng.gauss(0, 1) for _ in range(3)] for _ in range(D)]
SHAPES = ["circle", "square", "star"]


def snapshot(kind):
    x = [rng.random() for _ in range(N)]
    shape = [rng.randrange(3) for _ in range(N)]
    place = list(range(N))
    if kind == "scrambled":
        rng.shuffle(place)
    rows = []
    for i in range(N):
        if kind == "noise":
            rows.append([rng.gauss(0, 1) for _ in range(D)])
            continue
        j = place[i]
        a = 2 * math.pi * shape[j] / 3
        z = (2 * x[j] - 1, math.cos(a) + 0.08 * rng.gauss(0, 1), math.sin(a) + 0.08 * rng.gauss(0, 1))
        rows.append([sum(w * v for w, v in zip(W[d], z)) + 0.3 * math.sin(sum(b * v for b, v in zip(B[d], z)))
                     for d in range(D)])
    return rows, {"x": x, "shape": [SHAPES[s] for s in shape]}


out = {"errors": {}}
run = Run(url, name="python representation", assess={"embed": "pca", "confirm": 1})
out["runId"] = run.run_id
for step, kind in ((100, "noise"), (200, "scrambled"), (300, "ordered")):
    acts, factors = snapshot(kind)
    ok = [kind != "noise" or i % 3 == 0 for i in range(N)]
    thumbs = [[[-1.0] * 4 for _ in range(4)] for _ in range(2)] if step == 300 else None
    levels = {0: acts, 90: [[rng.gauss(0, 1) for _ in range(D)] for _ in range(N)]} if step == 300 else None
    out[f"snap{step}"] = run.snapshot(step, activations=acts, factors=factors, samples_ok=ok, thumbnails=thumbs,
                                      noise_levels=levels)
acts, factors = snapshot("ordered")
try:
    run.snapshot(400, activations=acts, factors={"x": factors["x"][:5]})
except ValueError as e:
    out["errors"]["short"] = str(e)
try:
    run.snapshot(400, activations=acts, factors=factors, noise_levels={5: acts[:3]})
except ValueError as e:
    out["errors"]["levels"] = str(e)
acts[2][3] = float("nan")
try:
    run.snapshot(400, activations=acts, factors=factors)
except ValueError as e:
    out["errors"]["nan"] = str(e)
try:
    run.snapshot(400, activations=[[1.0, 2.0]] * N, factors={"x": factors["x"]}, categorical=["y"])
except PhasewatchError as e:
    out["errors"]["server"] = str(e)
out["finish"] = run.finish()
print(json.dumps(out))
