"""A server that is gone for good: every failure is a PhasewatchError, finish() raises once,
and the exit handler does not try to finish again.

usage: python3 python-unreachable.py URL; the spec kills the server after "created".
"""
import json
import sys

from phasewatch_client import PhasewatchError, Run

run = Run(sys.argv[1], name="server gone", retry_for=1.5, timeout=5, flush_every=3600)
run.log(1, loss=0.5)
print("created", flush=True)
sys.stdin.readline()  # the spec kills the server, then writes a line
out = {"runId": run.run_id}
try:
    run.finish()
except PhasewatchError as e:
    out["finish"] = [type(e).__name__, e.status, str(e)]
except Exception as e:  # noqa: BLE001 - what the test looks for
    out["finish"] = [type(e).__name__, None, str(e)]
out["pending"] = len(run._pending)
print(json.dumps(out), flush=True)
