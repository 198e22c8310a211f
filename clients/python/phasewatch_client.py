"""Stream a training run from any Python loop into a phasewatch server.

Standard library only (urllib, json, struct, array); numpy is used when present for
snapshot arrays, and torch tensors are accepted too. Start a server with
``phasewatch serve`` and pass the URL it prints::

    from phasewatch_client import Run

    run = Run("http://127.0.0.1:4321/?token=...", name="my unet", config={"lr": 1e-3})
    for step in range(1, steps + 1):
        loss = train_step()
        run.log(step, loss=loss)
        if step % 200 == 0:
            # labels: N x 2 bump centres (x, y) in pixels; images: N x S x S in [-1, 1];
            # activations: N x D (any representation of each sample, e.g. a UNet layer)
            run.snapshot(step, labels, images, activations)
    run.finish()

The server stores the run like one of its own, assesses each snapshot's learning phase
and shows it live in its dashboard. See docs/interop.md for the HTTP API.
"""

import array
import atexit
import io
import json
import math
import os
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

try:  # optional
    import numpy as _np
except ImportError:  # pragma: no cover - depends on the interpreter
    _np = None

__all__ = ["Run", "PhasewatchError"]


class PhasewatchError(RuntimeError):
    """The server refused a request; the message is its one-line reason."""


def _to_plain(a):
    """numpy arrays stay; torch tensors become numpy (or nested lists without numpy)."""
    if hasattr(a, "detach") and hasattr(a, "cpu"):  # a torch tensor
        a = a.detach().cpu()
        return a.numpy() if _np is not None else a.tolist()
    return a


def _shape_and_flat(name, a):
    """Shape and flat list of floats of a nested sequence (lists, tuples, array.array)."""
    shape = []
    probe = a
    while isinstance(probe, (list, tuple, array.array)):
        shape.append(len(probe))
        if len(probe) == 0 or isinstance(probe, array.array):
            break
        probe = probe[0]
    flat = []

    def walk(x, depth):
        if depth == len(shape):
            v = float(x)
            flat.append(v)
            return
        if not isinstance(x, (list, tuple, array.array)) or len(x) != shape[depth]:
            raise ValueError(f"{name} must be a rectangular array of numbers (shape {shape} expected)")
        for y in x:
            walk(y, depth + 1)

    walk(a, 0)
    return shape, flat


def _npy(a):
    """One C-order float32 .npy file of a numpy array."""
    buf = io.BytesIO()
    _np.lib.format.write_array(buf, _np.ascontiguousarray(a, dtype=_np.float32), allow_pickle=False)
    return buf.getvalue()


class Run:
    """A run on a phasewatch server.

    ``url`` is the server's address (the dashboard URL it prints, token included, will do);
    ``token`` defaults to the URL's ``?token=`` or ``PHASEWATCH_TOKEN``. ``name`` and
    ``config`` are shown with the run. ``assess`` sets how snapshots are assessed, e.g.
    ``{"embed": "pca", "confirm": 2}``. Use as a context manager to finish the run
    ``failed`` when the loop raises.
    """

    def __init__(self, url, name=None, config=None, token=None, *, tags=None, notes=None,
                 run_id=None, backend="python", assess=None, timeout=120.0, flush_every=0.5):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be http(s)://host:port of a phasewatch server (got {url!r})")
        query = urllib.parse.parse_qs(parts.query)
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._token = token or (query.get("token") or [None])[0] or os.environ.get("PHASEWATCH_TOKEN")
        self._timeout = timeout
        self._flush_every = flush_every
        self._pending = []
        self._last_flush = time.monotonic()
        self._finished = None
        body = {"backend": backend}
        for key, value in (("name", name), ("config", config), ("tags", tags), ("notes", notes),
                           ("runId", run_id), ("assess", assess)):
            if value is not None:
                body[key] = value
        self.run_id = self._json("/api/runs", body)["runId"]
        # A script that ends without finish() still sends what it logged and ends the run.
        atexit.register(self._at_exit)

    def _at_exit(self):
        if self._finished is None:
            try:
                self.flush()
                self.finish("stopped", "the script exited without run.finish()")
            except Exception as e:  # the process is ending: say why, do not raise
                print(f"phasewatch: could not finish run {self.run_id}: {e}", file=sys.stderr)

    # -- HTTP ------------------------------------------------------------------------
    def _request(self, path, data, content_type, headers=None, method="POST"):
        h = {"content-type": content_type} if data is not None else {}
        h.update(headers or {})
        if self._token:
            h["authorization"] = f"Bearer {self._token}"
        req = urllib.request.Request(self._base + path, data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as res:
                return json.loads(res.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as e:
            reason = e.read().decode("utf-8", "replace").strip().split("\n")[0]
            raise PhasewatchError(f"{method} {path}: {e.code} {reason}") from None
        except urllib.error.URLError as e:
            raise PhasewatchError(f"cannot reach phasewatch at {self._base}: {e.reason}") from None

    def _json(self, path, body):
        return self._request(path, json.dumps(body, allow_nan=False).encode("utf-8"), "application/json")

    def _path(self, tail):
        return f"/api/runs/{urllib.parse.quote(self.run_id, safe='')}/{tail}"

    def _check_open(self):
        if self._finished is not None:
            raise PhasewatchError(f"run {self.run_id} has finished")

    # -- events ----------------------------------------------------------------------
    def log(self, step, **scalars):
        """Logs named scalars at a step, e.g. ``run.log(100, loss=0.12, lr=1e-3)``.

        Names may hold ``/`` to group charts (``run.log(5, **{"probe/acc": 0.9})``). Values
        are sent in batches (every ``flush_every`` seconds, at a snapshot and at finish).
        """
        self._check_open()
        step = self._step(step)
        for name, value in scalars.items():
            try:
                number = float(_to_plain(value))
            except (TypeError, ValueError):
                number = None
            if isinstance(value, bool) or number is None or not math.isfinite(number):
                raise ValueError(f"{name} must be a finite number (got {value!r})")
            self._pending.append({"type": "metric", "name": name, "value": number, "step": step})
        self._maybe_flush()

    def step(self, step, loss, examples_per_sec=0.0):
        """Logs one optimiser step for the dashboard's loss chart."""
        self._check_open()
        loss = float(_to_plain(loss))
        if not math.isfinite(loss):
            raise ValueError(f"loss must be a finite number (got {loss!r})")
        self._pending.append({"type": "step", "loss": loss, "examplesPerSec": float(examples_per_sec),
                              "step": self._step(step)})
        self._maybe_flush()

    def event(self, kind, step, **fields):
        """Appends an event of a generic kind: ``curve``, ``matrix``, ``embedding``,
        ``images`` or ``alert`` (fields as in docs/events.md), e.g.
        ``run.event("alert", 10, level="warning", message="lr too high")``."""
        self._check_open()
        self._pending.append({"type": kind, "step": self._step(step), **fields})
        self._maybe_flush()

    def flush(self):
        """Sends the events logged so far."""
        if self._pending:
            events, self._pending = self._pending, []
            self._json(self._path("events"), events)
        self._last_flush = time.monotonic()

    def _maybe_flush(self):
        if len(self._pending) >= 500 or time.monotonic() - self._last_flush >= self._flush_every:
            self.flush()

    @staticmethod
    def _step(step):
        ok = isinstance(step, int) and not isinstance(step, bool)
        ok = ok or (hasattr(step, "__index__") and not isinstance(step, (str, bytes, float)))
        if not ok or int(step) < 0:
            raise ValueError(f"step must be an integer >= 0 (got {step!r})")
        return int(step)

    # -- snapshots -------------------------------------------------------------------
    def snapshot(self, step, labels, images, activations, sample_ms=None):
        """Uploads one snapshot; the server stores it and assesses its phase.

        ``labels``: N x 2, the (x, y) bump centre each sample was conditioned on, in pixels.
        ``images``: N x S x S (or N x 1 x S x S) generated images in [-1, 1].
        ``activations``: N x D (or N x ...), a representation of each sample.
        numpy arrays, torch tensors or nested lists. Returns what the server stored.
        """
        self._check_open()
        step = self._step(step)
        self.flush()
        arrays = [("labels", _to_plain(labels)), ("images", _to_plain(images)),
                  ("activations", _to_plain(activations))]
        query = f"?step={step}" + (f"&sampleMs={float(sample_ms)}" if sample_ms is not None else "")
        if _np is not None and all(isinstance(a, _np.ndarray) for _, a in arrays):
            body = b"".join(_npy(a) for _, a in arrays)
            return self._request(self._path("snapshots") + query, body, "application/x-npy")
        shapes, chunks = [], []
        for name, a in arrays:
            if _np is not None and isinstance(a, _np.ndarray):
                shape, flat = list(a.shape), a.astype(_np.float32).ravel().tolist()
            else:
                shape, flat = _shape_and_flat(name, a)
            shapes.append(f"{name}={'x'.join(str(d) for d in shape)}")
            chunks.append(struct.pack(f"<{len(flat)}f", *flat))
        return self._request(self._path("snapshots") + query, b"".join(chunks), "application/octet-stream",
                             {"x-phasewatch-shapes": "; ".join(shapes)})

    # -- end -------------------------------------------------------------------------
    def finish(self, status="completed", error=None):
        """Ends the run (``completed``, ``failed`` or ``stopped``) once the server has assessed
        every snapshot; returns ``{"runId", "status", "phase", "lastStep"}``. Idempotent."""
        if self._finished is not None:
            return self._finished
        if status != "stopped":
            self.flush()
        body = {"status": status}
        if error is not None:
            body["error"] = str(error).split("\n")[0][:2000]
        self._finished = self._json(self._path("finish"), body)
        atexit.unregister(self._at_exit)
        return self._finished

    def status(self):
        """The run's meta.json as the server has it now (``phase``, ``lastStep``, ...)."""
        path = f"/api/runs/{urllib.parse.quote(self.run_id, safe='')}"
        return self._request(path, None, None, method="GET")

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.finish()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("stopped")
        else:
            self.finish("failed", f"{exc_type.__name__}: {exc}")
        return False

