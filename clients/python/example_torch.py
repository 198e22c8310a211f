"""Train the seed-004 model in PyTorch and watch its learning phases live in phasewatch.

The model is the conditional UNet DDPM of phasewatch's default experiment (the PyTorch
reference in bench/reference/unet.py): it learns images of one Gaussian bump, conditioned on
the bump's (x, y). Every --snapshot-every steps the EMA model samples --samples images with
DDIM, the UNet's layer-4 activations at the first sampling step are taken (as the engine
does), and the snapshot is uploaded: the server assesses its phase (A: no bumps, B: bumps in
the wrong places, C: bumps where asked) and the dashboard shows it live.

    phasewatch serve                         # prints http://127.0.0.1:4321/?token=...
    python3 clients/python/example_torch.py --url 'http://127.0.0.1:4321/?token=...'

With --arch phase-b it trains the UNet of the phase-B reference study instead
(bench/reference/phase_b.py; phasewatch's `--preset phase-b`): labels 2 px from the edge, and
the raw weights sample (no EMA) unless --ema-decay is given.

Needs torch (Debian: apt-get install -y python3-torch); numpy is optional.
"""

import argparse
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "reference"))

from phasewatch_client import Run  # noqa: E402
from phase_b import PhaseBUnet  # noqa: E402
from unet import Unet, cosine_alpha_bars, ddim_times  # noqa: E402


def bump_labels(size, dx, dy, margin=0.0):
    """Bump centres x = m, m + dx, ... <= size - 1 - m (y likewise), y outer, x inner."""
    xs = [margin + k * dx for k in range(int((size - 1 - 2 * margin) / dx + 1e-9) + 1)]
    ys = [margin + k * dy for k in range(int((size - 1 - 2 * margin) / dy + 1e-9) + 1)]
    return torch.tensor([[x, y] for y in ys for x in xs], dtype=torch.float32)


class PhaseB(PhaseBUnet):
    """The reference UNet with the example's call (x, t, labels) and its `blocks["up1"]`."""

    def __init__(self, widths):
        super().__init__(widths)
        self.blocks = {"up1": self.u1}


def bump_images(labels, size, sigma):
    """One Gaussian bump per label: 2 exp(-d^2 / 2 sigma^2) - 1, background -1, peak +1."""
    r = torch.arange(size, dtype=torch.float32)
    dxs = r.reshape(1, 1, size) - labels[:, 0].reshape(-1, 1, 1)
    dys = r.reshape(1, size, 1) - labels[:, 1].reshape(-1, 1, 1)
    return (2 * torch.exp(-(dxs**2 + dys**2) / (2 * sigma**2)) - 1).unsqueeze(1)


@torch.no_grad()
def sample(ema, labels, ab, steps, size, seed):
    """DDIM from the EMA model; returns images (N, S, S) and layer-4 activations (N, D)."""
    g = torch.Generator().manual_seed(seed)
    n = labels.shape[0]
    x = torch.randn(n, 1, size, size, generator=g)
    captured = {}

    def keep_first(module, inputs, output):
        # Returns None: a forward hook that returns a value would replace the block's output.
        if "layer4" not in captured:
            captured["layer4"] = output.detach()

    # Layer 4 is the up1 block before its conditioning bias (engine/models/unet.ts).
    hook = ema.blocks["up1"].register_forward_hook(keep_first)
    try:
        times = ddim_times(len(ab), steps)
        for i, t in enumerate(times):
            tp = times[i + 1] if i + 1 < len(times) else -1
            eps = ema(x, torch.full((n,), float(t)), labels)
            abt = float(ab[t])
            abp = float(ab[tp]) if tp >= 0 else 1.0
            x0 = ((x - eps * math.sqrt(1 - abt)) / math.sqrt(abt)).clamp(-1, 1)
            e = (x - x0 * math.sqrt(abt)) / math.sqrt(1 - abt)
            x = x0 if tp < 0 else x0 * math.sqrt(abp) + e * math.sqrt(1 - abp)
    finally:
        hook.remove()
    # The engine flattens layer 4 channels-last (N, H, W, C); do the same.
    acts = captured["layer4"].permute(0, 2, 3, 1).reshape(n, -1)
    return x[:, 0], acts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", default=os.environ.get("PHASEWATCH_URL", "http://127.0.0.1:4321/"))
    p.add_argument("--token", default=None)
    p.add_argument("--name", default="seed-004 in PyTorch")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--snapshot-every", type=int, default=200)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--dx", type=float, default=0.5)
    p.add_argument("--sigma", type=float, default=1.0)
    p.add_argument("--arch", choices=["default", "phase-b"], default="default",
                   help="phasewatch's default UNet, or the phase-B reference UNet")
    p.add_argument("--label-margin", type=float, default=None,
                   help="px between the outermost centres and the edge (default 0; phase-b: 2)")
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ema-decay", type=float, default=None, help="default 0.99; phase-b: 0")
    p.add_argument("--timesteps", type=int, default=100)
    p.add_argument("--ddim-steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--embed", choices=["umap", "pca"], default="umap")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    if a.size % 8:
        p.error(f"--size must be a multiple of 8 (got {a.size})")

    phase_b = a.arch == "phase-b"
    if a.ema_decay is None:
        a.ema_decay = 0.0 if phase_b else 0.99
    if a.label_margin is None:
        a.label_margin = 2.0 if phase_b else 0.0
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    widths = tuple(int(w) for w in a.widths.split(","))
    S, B, T = a.size, a.batch_size, a.timesteps
    labels = bump_labels(S, a.dx, a.dx, a.label_margin)
    images = bump_images(labels, S, a.sigma)
    make = (lambda: PhaseB(widths)) if phase_b else (lambda: Unet(S, widths))  # noqa: E731
    model = make()
    ema = make()
    ema.load_state_dict(model.state_dict())
    ema.eval()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    ab = cosine_alpha_bars(T)
    # The same labels at every snapshot, so snapshots compare.
    pick = labels[torch.tensor(random.Random(a.seed).choices(range(len(labels)), k=a.samples))]
    camel = lambda k: k.split("_")[0] + "".join(w.title() for w in k.split("_")[1:])  # noqa: E731
    config = {camel(k): v for k, v in vars(a).items() if k not in ("url", "token", "name")}
    config.update(model="phase-b unet (PyTorch)" if phase_b else "unet-ddpm (PyTorch)", datasetSize=len(labels),
                  params=sum(q.numel() for q in model.parameters()), torch=torch.__version__)

    run = Run(a.url, name=a.name, config=config, token=a.token, backend=f"torch {torch.__version__}",
              assess={"embed": a.embed})
    print(f"phasewatch: run {run.run_id} ({len(labels)} bump images, {config['params']} parameters)",
          flush=True)
    with run:
        t0 = time.perf_counter()
        for step in range(1, a.steps + 1):
            idx = torch.randint(0, len(labels), (B,))
            x, lab = images[idx], labels[idx]
            t = torch.randint(0, T, (B,))
            noise = torch.randn_like(x)
            xt = x * ab[t].sqrt().reshape(B, 1, 1, 1) + noise * (1 - ab[t]).sqrt().reshape(B, 1, 1, 1)
            loss = F.mse_loss(model(xt, t.float(), lab), noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                for pe, pm in zip(ema.parameters(), model.parameters()):
                    pe.mul_(a.ema_decay).add_(pm, alpha=1 - a.ema_decay)
            now = time.perf_counter()
            run.step(step, loss.item(), B / max(now - t0, 1e-9))
            t0 = now
            if step % a.snapshot_every == 0 or step == a.steps:
                s0 = time.perf_counter()
                imgs, acts = sample(ema, pick, ab, a.ddim_steps, S, a.seed + step)
                ms = (time.perf_counter() - s0) * 1000
                run.snapshot(step, pick, imgs, acts, sample_ms=round(ms))
                print(f"step {step}: loss {loss.item():.4f}, snapshot sampled in {ms:.0f} ms", flush=True)
                t0 = time.perf_counter()
    end = run.finish()
    print(f"phasewatch: run {run.run_id} {end['status']}, phase {end['phase']}", flush=True)


if __name__ == "__main__":
    main()
