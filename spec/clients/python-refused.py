"""One bad event among 600 good ones: checked at the call, or refused by the server alone.

usage: python3 python-refused.py URL; prints one JSON line.
"""
import json
import sys

from phasewatch_client import Run

url = sys.argv[1]
out = {"errors": {}}
run = Run(url, name="refused among good", assess={"embed": "pca", "confirm": 1}, flush_every=3600)
out["runId"] = run.run_id


def caught(name, call):
    try:
        call()
    except ValueError as e:
        out["errors"][name] = str(e)


for step in range(1, 601):
    run.step(step, 1.0 / step)
    if step == 100:  # docs/events.md's N x 3, as nested rows
        run.event("embedding", step, name="emb", points=[[0, 1, 2], [3, 4, 5]], colourBy={"c": [0, 1]})
    if step == 200:  # N x 2: not an embedding; refused at the call, nothing queued
        caught("points", lambda: run.event("embedding", step, name="emb",
                                           points=[[0, 1], [2, 3]], colourBy={"c": [0, 1]}))
        caught("kind", lambda: run.event("histogram", step, name="h"))
        caught("colour", lambda: run.event("embedding", step, name="emb", points=[0, 1, 2], colourBy={"c": [0, 1]}))
        caught("field", lambda: run.event("alert", step, level="info", message="x", colour="red"))
    if step == 300:
        # An event the client cannot foresee the server refusing (e.g. a server older than the
        # client), queued among good ones: only it is left out.
        run._pending.append({"type": "metric", "name": "bad", "value": 1, "step": step, "unit": "s"})
    if step == 400:
        run.event("matrix", step, name="m", values=[[1, 0], [0, 1]])
    if step == 567:
        run.flush()
# Points of another dataset drawn as disk markers: not bump images, said at the upload.
labels, images, acts = [], [], []
for i in range(40):
    x, y = 3 + (i * 7) % 10, 3 + (i * 3) % 10
    labels.append([x, y])
    images.append([[1.0 if (c - x) ** 2 + (r - y) ** 2 <= 4 else -1.0 for c in range(16)] for r in range(16)])
    acts.append([x, y, x * y])
out["disks"] = run.snapshot(600, labels, images, acts)
out["refused"] = [r for _, r in run.refused]
out["finish"] = run.finish()
print(json.dumps(out))
