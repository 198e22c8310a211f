"""A server at its connection cap: the client waits as its 503 retry-after says, then goes on.

usage: python3 python-busy.py URL; prints "start", then one JSON line.
"""
import json
import sys
import time

from phasewatch_client import Run

print("start", flush=True)
t = time.monotonic()
run = Run(sys.argv[1], name="busy server", retry_for=30)
waited = time.monotonic() - t
run.log(1, loss=0.5)
print(json.dumps({"runId": run.run_id, "waited": waited, "finish": run.finish()}), flush=True)
