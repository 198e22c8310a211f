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
import http.client
import io
import json
import math
import os
import random
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
    """The server refused a request; the message is its one-line reason, ``status`` its HTTP
    status (None when the server could not be reached, or the connection broke)."""

    def __init__(self, message, status=None, headers=None):
        super().__init__(message)
        self.status = status
        #: the reply's headers (lower-case names), e.g. ``retry-after`` of a 429
        self.headers = headers or {}

    @property
    def transient(self):
        """True when the same request may succeed later: no answer, 429, 502, 503, 504."""
        return self.status in (None, 429, 502, 503, 504)

    @property
    def interrupted(self):
        """True when the server says the run was interrupted (it restarted) and can be re-opened."""
        return self.status == 409 and self.headers.get("x-phasewatch-interrupted") == "1"


def _new_run_id():
    """A run id as the server makes them (time, then 4 random characters), made here so that
    creating a run can be sent again without making two."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{stamp}-{''.join(random.choice('0123456789abcdefghijklmnopqrstuvwxyz') for _ in range(4))}"


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


def _rows(name, a):
    """N rows of finite floats (each sample flattened) of an N x D (or N x ...) array."""
    a = _to_plain(a)
    if _np is not None and isinstance(a, _np.ndarray):
        if a.ndim < 2 or a.shape[0] < 1:
            raise ValueError(f"{name} must be N x D with N, D >= 1 (got shape {list(a.shape)})")
        rows = a.reshape(a.shape[0], -1).astype(_np.float64).tolist()
    else:
        shape, flat = _shape_and_flat(name, a)
        if len(shape) < 2 or shape[0] < 1:
            raise ValueError(f"{name} must be N x D with N, D >= 1 (got shape {shape})")
        d = len(flat) // shape[0]
        rows = [flat[i * d:(i + 1) * d] for i in range(shape[0])]
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if not math.isfinite(v):
                raise ValueError(f"{name}[{i}][{j}] must be a finite number (got {v})")
    return rows


_KINDS = ("metric", "curve", "matrix", "embedding", "images", "alert", "step")
_FIELDS = {
    "metric": ({"name", "value"}, {"tags"}),
    "curve": ({"name", "x", "y"}, {"xLabel", "yLabel"}),
    "matrix": ({"name", "values"}, {"rows", "cols", "rowLabels", "colLabels"}),
    "embedding": ({"name", "points", "colourBy"}, set()),
    "images": ({"name", "size", "thumbs"}, set()),
    "alert": ({"level", "message"}, set()),
    "step": ({"loss"}, {"examplesPerSec"}),
}


def _plain_list(a):
    """numpy arrays and torch tensors as nested lists; lists and tuples as they are."""
    a = _to_plain(a)
    if _np is not None and isinstance(a, _np.ndarray):
        return a.tolist()
    if isinstance(a, array.array):
        return a.tolist()
    return a


def _number(where, x, accepted="a finite number"):
    x = _to_plain(x)
    if _np is not None and isinstance(x, _np.ndarray) and x.shape == ():
        x = x.item()
    try:
        v = float(x)
    except (TypeError, ValueError):
        v = None
    if isinstance(x, (bool, str, bytes)) or v is None or not math.isfinite(v):
        raise ValueError(f"{where} must be {accepted} (got {_shown(x)})")
    return v


def _shown(x):
    s = repr(x)
    return s if len(s) <= 60 else s[:57] + "..."


def _text(where, x, most=200, least=1):
    if not isinstance(x, str) or not least <= len(x) <= most:
        raise ValueError(f"{where} must be a string of {least} to {most} characters (got {_shown(x)})")
    return x


def _int(where, x, least, most):
    if isinstance(x, bool) or not hasattr(x, "__index__") or not least <= int(x) <= most:
        raise ValueError(f"{where} must be an integer from {least} to {most} (got {_shown(x)})")
    return int(x)


def _numbers(where, a, most=None):
    a = _plain_list(a)
    if not isinstance(a, (list, tuple)):
        raise ValueError(f"{where} must be a list of finite numbers (got {_shown(a)})")
    if most is not None and len(a) > most:
        raise ValueError(f"{where} must hold at most {most} numbers (got {len(a)})")
    return [_number(f"{where}[{i}]", x) for i, x in enumerate(a)]


def _points(where, a):
    """N x 3 points, nested (N rows of x, y, z) or flat (N*3 numbers), as a flat list."""
    accepted = "N x 3 numbers: N rows [x, y, z] or a flat [x, y, z, x, y, z, ...]"
    a = _plain_list(a)
    if not isinstance(a, (list, tuple)) or len(a) == 0:
        raise ValueError(f"{where} must be {accepted} (got {_shown(a)})")
    if isinstance(_plain_list(a[0]), (list, tuple)):
        flat = []
        for i, row in enumerate(a):
            row = _plain_list(row)
            if not isinstance(row, (list, tuple)) or len(row) != 3:
                raise ValueError(f"{where} must be {accepted}; row {i} is {_shown(row)}")
            flat.extend(_number(f"{where}[{i}][{j}]", x) for j, x in enumerate(row))
        return flat
    flat = _numbers(where, a)
    if len(flat) % 3 != 0:
        raise ValueError(f"{where} must be {accepted} (got {len(flat)} values)")
    return flat


def _check_event(kind, fields):
    """One event as the server takes it, or a ValueError naming the field and what is accepted."""
    if kind not in _FIELDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)} (got {_shown(kind)})")
    required, optional = _FIELDS[kind]
    unknown = sorted(set(fields) - required - optional - {"time"})
    if unknown:
        raise ValueError(f"{kind}: unknown field {', '.join(unknown)} (accepted: "
                         f"{', '.join(sorted(required | optional))})")
    missing = sorted(required - set(fields))
    if missing:
        raise ValueError(f"{kind}.{missing[0]} is required")
    e = {"type": kind}
    if "time" in fields:
        e["time"] = _number(f"{kind}.time", fields["time"])
    if "name" in required:
        e["name"] = _text(f"{kind}.name", fields["name"])
    if kind == "metric":
        e["value"] = _number(f"metric {e['name']}", fields["value"])
        if fields.get("tags") is not None:
            tags = fields["tags"]
            if not isinstance(tags, dict) or not all(isinstance(k, str) for k in tags):
                raise ValueError(f"metric.tags must be a dict of str to str (got {_shown(tags)})")
            e["tags"] = {k: _text(f"metric.tags[{k!r}]", v, least=0) for k, v in tags.items()}
    elif kind == "curve":
        e["x"] = _numbers("curve.x", fields["x"], 100_000)
        e["y"] = _numbers("curve.y", fields["y"], 100_000)
        if len(e["x"]) != len(e["y"]):
            raise ValueError(f"curve.y must hold as many values as curve.x ({len(e['x'])}, got {len(e['y'])})")
        for k in ("xLabel", "yLabel"):
            if fields.get(k) is not None:
                e[k] = _text(f"curve.{k}", fields[k], least=0)
    elif kind == "matrix":
        values = _plain_list(fields["values"])
        if isinstance(values, (list, tuple)) and values and isinstance(_plain_list(values[0]), (list, tuple)):
            rows = [_numbers(f"matrix.values[{i}]", r) for i, r in enumerate(values)]
            if any(len(r) != len(rows[0]) for r in rows):
                raise ValueError("matrix.values must be rows x cols numbers: rows of equal length, or flat")
            shape = (len(rows), len(rows[0]))
            flat = [x for r in rows for x in r]
        else:
            flat, shape = _numbers("matrix.values", values), None
        n_rows = fields.get("rows", shape[0] if shape else None)
        n_cols = fields.get("cols", shape[1] if shape else None)
        if n_rows is None or n_cols is None:
            raise ValueError("matrix.rows and matrix.cols are required when matrix.values is flat")
        e["rows"] = _int("matrix.rows", n_rows, 1, 10_000)
        e["cols"] = _int("matrix.cols", n_cols, 1, 10_000)
        if len(flat) != e["rows"] * e["cols"]:
            raise ValueError(f"matrix.values must hold rows*cols = {e['rows'] * e['cols']} values (got {len(flat)})")
        e["values"] = flat
        for k, n in (("rowLabels", e["rows"]), ("colLabels", e["cols"])):
            if fields.get(k) is not None:
                labels = [_text(f"matrix.{k}[{i}]", x, least=0) for i, x in enumerate(fields[k])]
                if len(labels) != n:
                    raise ValueError(f"matrix.{k} must hold {n} labels (got {len(labels)})")
                e[k] = labels
    elif kind == "embedding":
        e["points"] = _points("embedding.points", fields["points"])
        n = len(e["points"]) // 3
        colour = fields["colourBy"]
        if not isinstance(colour, dict):
            raise ValueError(f"embedding.colourBy must be a dict of field -> N values (got {_shown(colour)})")
        e["colourBy"] = {}
        for k, v in colour.items():
            values = _numbers(f"embedding.colourBy[{k!r}]", v)
            if len(values) != n:
                raise ValueError(f"embedding.colourBy[{k!r}] must hold N = {n} values, one per point (got {len(values)})")
            e["colourBy"][str(k)] = values
    elif kind == "images":
        e["size"] = _int("images.size", fields["size"], 1, 512)
        thumbs = fields["thumbs"]
        if not isinstance(thumbs, (list, tuple)) or not 1 <= len(thumbs) <= 256:
            raise ValueError(f"images.thumbs must be a list of 1 to 256 thumbnails (got {_shown(thumbs)})")
        e["thumbs"] = []
        for i, t in enumerate(thumbs):
            where = f"images.thumbs[{i}]"
            if not isinstance(t, dict) or "pixels" not in t or set(t) - {"pixels", "caption", "marks"}:
                raise ValueError(f"{where} must be a dict with pixels (and caption, marks) (got {_shown(t)})")
            pixels = _plain_list(t["pixels"])
            if isinstance(pixels, (list, tuple)) and pixels and isinstance(_plain_list(pixels[0]), (list, tuple)):
                pixels = [x for row in pixels for x in _plain_list(row)]
            pixels = _numbers(f"{where}.pixels", pixels)
            if len(pixels) != e["size"] ** 2 or any(p != int(p) or not 0 <= p <= 255 for p in pixels):
                raise ValueError(f"{where}.pixels must be size*size = {e['size'] ** 2} grey levels, "
                                 f"integers 0..255 (got {len(pixels)} values)")
            thumb = {"pixels": [int(p) for p in pixels]}
            if t.get("caption") is not None:
                thumb["caption"] = _text(f"{where}.caption", t["caption"], least=0)
            if t.get("marks") is not None:
                thumb["marks"] = []
                for j, m in enumerate(t["marks"]):
                    if not isinstance(m, dict) or not {"x", "y"} <= set(m) or set(m) - {"x", "y", "kind"}:
                        raise ValueError(f"{where}.marks[{j}] must be a dict with x, y (and kind) (got {_shown(m)})")
                    mark = {"x": _number(f"{where}.marks[{j}].x", m["x"]), "y": _number(f"{where}.marks[{j}].y", m["y"])}
                    if m.get("kind") is not None:
                        mark["kind"] = _text(f"{where}.marks[{j}].kind", m["kind"], 50)
                    thumb["marks"].append(mark)
            e["thumbs"].append(thumb)
    elif kind == "alert":
        if fields["level"] not in ("info", "warning", "error"):
            raise ValueError(f"alert.level must be info, warning or error (got {_shown(fields['level'])})")
        e["level"] = fields["level"]
        e["message"] = _text("alert.message", fields["message"], 2000)
    elif kind == "step":
        e["loss"] = _number("loss", fields["loss"])
        e["examplesPerSec"] = _number("examples_per_sec", fields.get("examplesPerSec", 0.0),
                                      "a finite number >= 0")
        if e["examplesPerSec"] < 0:
            raise ValueError(f"examples_per_sec must be a finite number >= 0 (got {e['examplesPerSec']!r})")
    return e


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

    A request that gets no answer (the server is restarting, the connection broke) or a 429,
    502, 503 or 504 is sent again, after ``retry-after`` when the server gives one, else after
    a backoff (0.25 s doubling to 8 s), for up to ``retry_for`` seconds. Events and snapshots
    carry the client's numbers (``clientSeq``), so the server stores a request sent again
    once; a run the server lost when it was killed is re-opened and goes on.
    """

    def __init__(self, url, name=None, config=None, token=None, *, tags=None, notes=None,
                 run_id=None, backend="python", assess=None, timeout=120.0, flush_every=0.5,
                 retry_for=120.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be http(s)://host:port of a phasewatch server (got {url!r})")
        query = urllib.parse.parse_qs(parts.query)
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._token = token or (query.get("token") or [None])[0] or os.environ.get("PHASEWATCH_TOKEN")
        self._timeout = timeout
        self._flush_every = flush_every
        self._retry_for = float(retry_for)
        self._assess = assess
        #: the number of the last event or snapshot queued (``clientSeq``)
        self._seq = 0
        #: events not yet stored by the server, oldest first (a batch leaves once it is stored)
        self._pending = []
        #: events the server refused, as ``(event, reason)``; the others were stored
        self.refused = []
        self._last_flush = time.monotonic()
        self._finished = None
        self._finish_tried = False
        body = {"backend": backend, "runId": run_id or _new_run_id()}
        for key, value in (("name", name), ("config", config), ("tags", tags), ("notes", notes),
                           ("assess", assess)):
            if value is not None:
                body[key] = value
        self.run_id = body["runId"]
        self._create(body)
        # A script that ends without finish() still sends what it logged and ends the run.
        atexit.register(self._at_exit)

    def _create(self, body):
        """Creates the run; sent again, a create that the server did take re-opens the run."""
        tries = 0
        deadline = time.monotonic() + self._retry_for
        while True:
            try:
                return self._json("/api/runs", body, retry=False)
            except PhasewatchError as e:
                if tries and e.status == 409 and "already exists" in str(e):
                    return self._reopen()  # the lost answer: the run is ours
                if not e.transient or time.monotonic() >= deadline:
                    raise
                self._pause(e, tries, deadline)
                tries += 1

    def _at_exit(self):
        if self._finished is None and not self._finish_tried:
            self._retry_for = min(self._retry_for, 10.0)  # the process is ending: not for long
            try:
                self.flush()
                self.finish("stopped", "the script exited without run.finish()")
            except Exception as e:  # the process is ending: say why, do not raise
                print(f"phasewatch: could not finish run {self.run_id}: {e}", file=sys.stderr)

    # -- HTTP ------------------------------------------------------------------------
    def _request(self, path, data, content_type, headers=None, method="POST", retry=True):
        """One request, sent again while it fails for a reason that may pass (see the class);
        a run-scoped request the server answers "interrupted" re-opens the run first."""
        deadline = time.monotonic() + self._retry_for
        tries = 0
        while True:
            try:
                return self._once(path, data, content_type, headers, method)
            except PhasewatchError as e:
                run_scoped = path.startswith("/api/runs/") and not path.endswith("/reopen")
                if not retry or time.monotonic() >= deadline or not (e.transient or (e.interrupted and run_scoped)):
                    raise
                if e.interrupted:
                    self._reopen()  # raises when the run cannot be re-opened
                    continue
                self._pause(e, tries, deadline)
                tries += 1

    @staticmethod
    def _pause(e, tries, deadline):
        """Waits before a request is sent again: the server's retry-after, else a backoff."""
        wait = None
        try:
            wait = float(e.headers.get("retry-after"))
        except (TypeError, ValueError):
            pass
        if wait is None or not math.isfinite(wait) or wait < 0:
            wait = min(8.0, 0.25 * 2 ** tries) * random.uniform(0.8, 1.2)
        time.sleep(max(0.0, min(wait, deadline - time.monotonic())))

    def _once(self, path, data, content_type, headers, method):
        h = {"content-type": content_type} if data is not None else {}
        h.update(headers or {})
        if self._token:
            h["authorization"] = f"Bearer {self._token}"
        req = urllib.request.Request(self._base + path, data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self._timeout) as res:
                return json.loads(res.read().decode("utf-8") or "null")
        except urllib.error.HTTPError as e:
            try:
                reason = e.read().decode("utf-8", "replace").strip().split("\n")[0]
            except (OSError, http.client.HTTPException):
                reason = e.reason
            heads = {k.lower(): v for k, v in (e.headers or {}).items()}
            raise PhasewatchError(f"{method} {path}: {e.code} {reason}", e.code, heads) from None
        except urllib.error.URLError as e:
            raise PhasewatchError(f"cannot reach phasewatch at {self._base}: {e.reason}") from None
        except (OSError, http.client.HTTPException, ValueError) as e:
            # reset, cut off or timed out mid-request (or an answer that is not whole JSON)
            why = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            raise PhasewatchError(f"{method} {path}: no answer from phasewatch at {self._base} ({why})") from None

    def _json(self, path, body, retry=True):
        return self._request(path, json.dumps(body, allow_nan=False).encode("utf-8"), "application/json",
                             retry=retry)

    def _reopen(self):
        """Re-opens the run on a server that restarted (a no-op while the run is open)."""
        body = {} if self._assess is None else {"assess": self._assess}
        return self._json(self._path("reopen"), body)

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
        checked = []
        for name, value in scalars.items():  # all or none of the call's values
            if not 1 <= len(name) <= 200:
                raise ValueError(f"metric name must be 1 to 200 characters (got {_shown(name)})")
            checked.append({"type": "metric", "name": name, "value": _number(name, value), "step": step})
        for e in checked:
            e["clientSeq"] = self._number_next()
        self._pending.extend(checked)
        self._maybe_flush()

    def step(self, step, loss, examples_per_sec=0.0):
        """Logs one optimiser step for the dashboard's loss chart."""
        self._check_open()
        e = _check_event("step", {"loss": loss, "examplesPerSec": examples_per_sec})
        e["step"] = self._step(step)
        e["clientSeq"] = self._number_next()
        self._pending.append(e)
        self._maybe_flush()

    def event(self, kind, step, **fields):
        """Appends an event of a generic kind: ``curve``, ``matrix``, ``embedding``,
        ``images`` or ``alert`` (fields as in docs/events.md), e.g.
        ``run.event("alert", 10, level="warning", message="lr too high")``.

        The event is checked here: a bad one raises ``ValueError`` naming the field and what
        it accepts, and nothing is queued. An embedding's ``points`` may be N rows
        ``[x, y, z]`` or a flat list of N*3 numbers (numpy arrays and torch tensors too); a
        matrix's ``values`` may be nested rows (then ``rows``/``cols`` may be left out)."""
        self._check_open()
        e = _check_event(kind, fields)
        e["step"] = self._step(step)
        e["clientSeq"] = self._number_next()
        self._pending.append(e)
        self._maybe_flush()

    def _number_next(self):
        self._seq += 1
        return self._seq

    def flush(self):
        """Sends the events logged so far, in batches of up to 500.

        An event leaves the queue only once the server has stored it: a batch whose answer is
        lost is sent again, and the server drops the events it already has. Should the
        server refuse a batch (400, or 413 when it is too large), the batch is sent again in
        halves, so only the events it refuses are left out: each is reported on stderr and
        kept in ``run.refused``, and the others are stored in order. When the server stays
        unreachable (see the class) or answers otherwise, the events stay queued for the
        next flush and ``PhasewatchError`` is raised."""
        try:
            while self._pending:
                self._send(len(self._pending[:500]))
        finally:
            self._last_flush = time.monotonic()

    def _send(self, n):
        """Sends the first ``n`` queued events; they leave the queue once stored (or refused)."""
        events = self._pending[:n]
        try:
            self._json(self._path("events"), events)
        except PhasewatchError as e:
            if e.status not in (400, 413):
                raise  # still queued, in order, for the next flush
            if n == 1:
                self.refused.append((events[0], str(e)))
                what = events[0].get("name") or events[0].get("type")
                print(f"phasewatch: the server refused {events[0].get('type')} {what!r} at step "
                      f"{events[0].get('step')}: {e}", file=sys.stderr)
                del self._pending[:1]
                return
            half = n // 2
            self._send(half)
            self._send(n - half)
            return
        del self._pending[:n]

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
    def snapshot(self, step, labels=None, images=None, activations=None, sample_ms=None, *,
                 factors=None, categorical=None, samples_ok=None, thumbnails=None, noise_levels=None):
        """Uploads one snapshot; the server stores it and assesses its phase.

        Any model: ``run.snapshot(step, activations=acts, factors={"angle": a}, samples_ok=ok)``
        sends a representation snapshot (see ``representation``). A bump model sends:

        ``labels``: N x 2, the (x, y) bump centre each sample was conditioned on, in pixels.
        ``images``: N x S x S (or N x 1 x S x S) generated images in [-1, 1].
        ``activations``: N x D (or N x ...), a representation of each sample.
        numpy arrays, torch tensors or nested lists. Returns what the server stored; when the
        arrays are not what the phase rule assumes (labels outside the image, blobs that are
        not bumps) its ``warning`` is printed on stderr and the snapshot's phase is not judged.
        """
        if factors is not None:
            return self.representation(step, activations, factors, categorical=categorical,
                                       samples_ok=samples_ok, thumbnails=thumbnails, sample_ms=sample_ms,
                                       noise_levels=noise_levels)
        if labels is None or images is None or activations is None:
            raise ValueError("snapshot needs labels, images and activations (bump images), "
                             "or activations and factors={name: values} (any model)")
        self._check_open()
        step = self._step(step)
        self.flush()
        arrays = [("labels", _to_plain(labels)), ("images", _to_plain(images)),
                  ("activations", _to_plain(activations))]
        query = f"?step={step}&clientSeq={self._number_next()}"
        query += f"&sampleMs={float(sample_ms)}" if sample_ms is not None else ""
        if _np is not None and all(isinstance(a, _np.ndarray) for _, a in arrays):
            body = b"".join(_npy(a) for _, a in arrays)
            return self._said(self._request(self._path("snapshots") + query, body, "application/x-npy"))
        shapes, chunks = [], []
        for name, a in arrays:
            if _np is not None and isinstance(a, _np.ndarray):
                shape, flat = list(a.shape), a.astype(_np.float32).ravel().tolist()
            else:
                shape, flat = _shape_and_flat(name, a)
            shapes.append(f"{name}={'x'.join(str(d) for d in shape)}")
            chunks.append(struct.pack(f"<{len(flat)}f", *flat))
        return self._said(self._request(self._path("snapshots") + query, b"".join(chunks),
                                        "application/octet-stream", {"x-phasewatch-shapes": "; ".join(shapes)}))

    def representation(self, step, activations, factors, *, categorical=None, samples_ok=None,
                       thumbnails=None, sample_ms=None, noise_levels=None):
        """Uploads a representation snapshot of any model; the server assesses its phase by the
        generic rule (no structure A, a disordered manifold B, a manifold ordered by the factors C).

        ``activations``: N x D (or N x ...) of any layer, one row per sample.
        ``factors``: ``{name: N values}``, the generative factors or labels of each sample: numbers
        for a continuous factor, strings (or integers named in ``categorical``) for classes.
        ``samples_ok``: optional N verdicts on the generated samples (True/False or 0..1).
        ``thumbnails``: optional K x S x S generated samples in [-1, 1], shown as an ``images`` event.
        ``noise_levels``: optional ``{t: N x D activations}`` of the same samples at several
        diffusion timesteps; the server probes each factor at each t (seed 002) and shows the
        accuracy-vs-t curve, its peak and the soft-vote ensemble.
        numpy arrays, torch tensors or nested lists. Returns what the server stored.
        """
        self._check_open()
        step = self._step(step)
        rows = _rows("activations", activations)
        n = len(rows)
        if not isinstance(factors, dict) or not factors:
            raise ValueError("factors must be a dict of N values per factor name, e.g. {'angle': angles}")
        body = {"activations": rows, "factors": {}}
        for name, values in factors.items():
            v = _plain_list(values)
            if not isinstance(v, (list, tuple)) or len(v) != n:
                got = f"{len(v)} values" if isinstance(v, (list, tuple)) else type(v).__name__
                raise ValueError(f"factors[{name!r}] must hold N = {n} values, one per activation row (got {got})")
            body["factors"][str(name)] = list(v)
        if categorical is not None:
            body["categorical"] = [str(c) for c in categorical]
        if samples_ok is not None:
            ok = _plain_list(samples_ok)
            if not isinstance(ok, (list, tuple)) or len(ok) != n:
                raise ValueError(f"samples_ok must hold N = {n} verdicts (True/False or 0..1)")
            body["samplesOk"] = [bool(x) if isinstance(x, bool) else float(x) for x in ok]
        if noise_levels is not None:
            if not isinstance(noise_levels, dict):
                raise ValueError("noise_levels must be a dict {t: N x D activations at timestep t}")
            body["noiseLevels"] = []
            for t, acts in sorted(noise_levels.items()):
                level = _rows(f"noise_levels[{t}]", acts)
                if len(level) != n:
                    raise ValueError(f"noise_levels[{t}] must hold N = {n} rows, one per sample (got {len(level)})")
                body["noiseLevels"].append({"t": _number(f"noise_levels key {t!r}", t), "activations": level})
        self.flush()
        query = f"?step={step}" + (f"&sampleMs={float(sample_ms)}" if sample_ms is not None else "")
        answer = self._said(self._json(self._path("snapshots") + query, body))
        if thumbnails is not None:
            t = _to_plain(thumbnails)
            shape, flat = (list(t.shape), t.astype(_np.float64).ravel().tolist()) \
                if _np is not None and isinstance(t, _np.ndarray) else _shape_and_flat("thumbnails", t)
            if len(shape) != 3 or shape[1] != shape[2]:
                raise ValueError(f"thumbnails must be K x S x S images in [-1, 1] (got shape {shape})")
            px = shape[1] * shape[2]
            thumbs = [{"pixels": [round(min(1.0, max(0.0, (x + 1) / 2)) * 255) for x in flat[k * px:(k + 1) * px]]}
                      for k in range(min(shape[0], 16))]
            self.event("images", step, name="samples", size=shape[1], thumbs=thumbs)
        return answer

    @staticmethod
    def _said(answer):
        """Passes on the server's answer, printing its warning (e.g. images that are not bumps)."""
        if isinstance(answer, dict) and answer.get("warning"):
            print(f"phasewatch: snapshot at step {answer.get('step')}: {answer['warning']}", file=sys.stderr)
        return answer

    # -- end -------------------------------------------------------------------------
    def finish(self, status="completed", error=None):
        """Ends the run (``completed``, ``failed`` or ``stopped``) once the server has assessed
        every snapshot; returns ``{"runId", "status", "phase", "lastStep"}``. Idempotent."""
        if self._finished is not None:
            return self._finished
        self._finish_tried = True  # the exit handler does not try again after a failure
        if status != "stopped":
            self.flush()
        else:  # what was logged before an interrupt is kept when the server takes it
            try:
                self.flush()
            except PhasewatchError as e:
                print(f"phasewatch: {len(self._pending)} events not sent: {e}", file=sys.stderr)
        body = {"status": status}
        if error is not None:
            body["error"] = str(error).split("\n")[0][:2000]
        try:
            self._finished = self._json(self._path("finish"), body)
        except PhasewatchError as e:
            # A finish sent again whose first try ended the run: the run says how it ended.
            ended = self._ended() if e.status == 409 else None
            if ended is None:
                raise
            self._finished = ended
        atexit.unregister(self._at_exit)
        return self._finished

    def _ended(self):
        """How the run ended, as finish() answers, or None while it has not."""
        try:
            meta = self.status()
        except PhasewatchError:
            return None
        if meta.get("open") or meta.get("status") in ("running", "interrupted"):
            return None
        return {"runId": self.run_id, "status": meta.get("status"), "phase": meta.get("phase"),
                "lastStep": meta.get("lastStep")}

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

