"""Train a small diffusion model on two moons in PyTorch and watch its representation phases.

Not bumps: a conditional MLP denoiser learns 2-D points of the two-moons set, conditioned on
the moon (upper or lower) and the position along it (0..1). Every --snapshot-every steps it
samples --samples points with DDIM for a fixed draw of conditions, and uploads a
representation snapshot: the denoiser's hidden layer at the last sampling step (--layer-at), the factors
of each sample (moon: categorical, position: continuous), and a verdict per sample (ok when the
generated point lands within --ok-radius of the point asked for), with the hidden layer at every
--probe-every-th sampling step as noise levels (the server probes moon and position at each
timestep: seed 002's curves). The server judges the phase on
the representation (A no structure, B a manifold that does not order the factors, C an ordered
one) and the dashboard shows it live, with the generated points as an embedding.

    phasewatch serve                         # prints http://127.0.0.1:4321/?token=...
    python3 clients/python/example_moons.py --url 'http://127.0.0.1:4321/?token=...'

Needs torch (Debian: apt-get install -y python3-torch); numpy is optional.
"""

import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from phasewatch_client import Run  # noqa: E402


def moon_points(moon, pos, noise, gen=None):
    """Two moons: the upper arc (cos a, sin a), the lower (1 - cos a, 0.5 - sin a), a = pi * pos."""
    a = math.pi * pos
    upper = torch.stack([torch.cos(a), torch.sin(a)], 1)
    lower = torch.stack([1 - torch.cos(a), 0.5 - torch.sin(a)], 1)
    x = torch.where(moon.unsqueeze(1) > 0.5, lower, upper)
    x = (x - torch.tensor([0.5, 0.25])) / 0.75  # about unit scale
    if noise > 0:
        x = x + noise * torch.randn(x.shape, generator=gen)
    return x


def conditions(n, gen):
    return (torch.randint(0, 2, (n,), generator=gen).float(), torch.rand(n, generator=gen))


class Denoiser(torch.nn.Module):
    """eps(x_t, t, moon, position): an MLP; `hidden` is the representation sent to phasewatch."""

    def __init__(self, width=128, timesteps=100):
        super().__init__()
        self.timesteps = timesteps
        self.inp = torch.nn.Linear(2 + 8 + 3, width)
        self.mid = torch.nn.Linear(width, width)
        self.mid2 = torch.nn.Linear(width, width)
        self.out = torch.nn.Linear(width, 2)
        self.hidden = None

    def forward(self, x, t, moon, pos):
        freqs = torch.arange(4, dtype=torch.float32)
        ang = (t.float() / self.timesteps).unsqueeze(1) * (2 ** freqs) * math.pi
        cond = torch.stack([moon, 1 - moon, pos], 1)
        h = F.silu(self.inp(torch.cat([x, torch.sin(ang), torch.cos(ang), cond], 1)))
        h = F.silu(self.mid(h))
        self.hidden = h
        return self.out(F.silu(self.mid2(h)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", default=os.environ.get("PHASEWATCH_URL", "http://127.0.0.1:4321/"))
    p.add_argument("--token", default=None)
    p.add_argument("--name", default="two moons in PyTorch")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--snapshot-every", type=int, default=250)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--timesteps", type=int, default=100)
    p.add_argument("--ddim-steps", type=int, default=20)
    p.add_argument("--noise", type=float, default=0.03, help="spread of the data around the arcs")
    p.add_argument("--ok-radius", type=float, default=0.15, help="a sample is ok this close to its target")
    p.add_argument("--layer-at", choices=["first", "last"], default="last",
                   help="sampling step whose hidden layer is sent (first: pure-noise input, as the bump experiment)")
    p.add_argument("--probe-every", type=int, default=4,
                   help="send the hidden layer at every this many sampling steps as noise levels (0: none)")
    p.add_argument("--embed", choices=["umap", "pca"], default="umap")
    p.add_argument("--confirm", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    gen = torch.Generator().manual_seed(a.seed)

    T = a.timesteps
    betas = torch.linspace(1e-4, 0.05, T)
    abar = torch.cumprod(1 - betas, 0)
    model = Denoiser(timesteps=T)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    # the snapshot's conditions and starting noise are fixed, so snapshots compare
    snap_moon, snap_pos = conditions(a.samples, torch.Generator().manual_seed(a.seed + 1))
    snap_noise = torch.randn(a.samples, 2, generator=torch.Generator().manual_seed(a.seed + 2))
    targets = moon_points(snap_moon, snap_pos, 0)
    moon_names = ["upper" if m < 0.5 else "lower" for m in snap_moon.tolist()]

    config = {k: v for k, v in vars(a).items() if k not in ("url", "token")}
    run = Run(a.url, name=a.name, config=config, token=a.token, backend="torch",
              tags=["two-moons", "representation"], assess={"embed": a.embed, "confirm": a.confirm})
    print(f"run {run.run_id}", flush=True)
    with run:
        t0 = time.monotonic()
        for step in range(1, a.steps + 1):
            moon, pos = conditions(a.batch_size, gen)
            x0 = moon_points(moon, pos, a.noise, gen)
            t = torch.randint(0, T, (a.batch_size,), generator=gen)
            eps = torch.randn(x0.shape, generator=gen)
            ab = abar[t].unsqueeze(1)
            loss = F.mse_loss(model(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, t, moon, pos), eps)
            opt.zero_grad()
            loss.backward()
            opt.step()
            run.step(step, loss.item(), a.batch_size * step / max(1e-9, time.monotonic() - t0))
            if step % a.snapshot_every == 0 or step == a.steps:
                started = time.monotonic()
                with torch.no_grad():
                    times = torch.linspace(T - 1, 0, a.ddim_steps).round().long()
                    x = snap_noise.clone()
                    hidden = None
                    levels = {}  # the hidden layer along the sampling trajectory, for the noise-level probes
                    for i, ti in enumerate(times):
                        tt = torch.full((a.samples,), int(ti))
                        e = model(x, tt, snap_moon, snap_pos)
                        if a.probe_every > 0 and (i % a.probe_every == 0 or i == len(times) - 1):
                            levels[int(ti)] = model.hidden.clone()
                        if (a.layer_at == "first" and i == 0) or (a.layer_at == "last" and i == len(times) - 1):
                            hidden = model.hidden.clone()
                        x0_hat = ((x - (1 - abar[ti]).sqrt() * e) / abar[ti].sqrt()).clamp(-3, 3)
                        prev = abar[times[i + 1]] if i + 1 < len(times) else torch.tensor(1.0)
                        x = prev.sqrt() * x0_hat + (1 - prev).sqrt() * e
                ok = ((x - targets).norm(dim=1) < a.ok_radius).tolist()
                sample_ms = 1000 * (time.monotonic() - started)
                pts = torch.cat([x, torch.zeros(a.samples, 1)], 1)
                run.event("embedding", step, name="samples/points", points=pts.tolist(),
                          colourBy={"moon": snap_moon.tolist(), "position": snap_pos.tolist()})
                run.snapshot(step, activations=hidden, factors={"moon": moon_names, "position": snap_pos},
                             samples_ok=ok, sample_ms=sample_ms,
                             noise_levels=levels if a.probe_every > 0 else None)
                print(f"step {step}: loss {loss.item():.4f}, samples ok {sum(ok) / len(ok):.2f}", flush=True)
    end = run.finish()
    print(f"run {end['runId']} ended {end['status']}, phase {end['phase']}", flush=True)


if __name__ == "__main__":
    main()
