"""PyTorch reference for bench/train-step.ts: the same conditional UNet as engine/models/unet.ts
(seed 004, scaled down), trained and sampled the same way as engine/models/ddpm.ts.

With --attention interlaced, a self-attention layer follows each of the six blocks as in
`--preset seed` (GroupNorm, 1x1 projections q, k, v, softmax(QK^T/sqrt(d))V per head, output
projection, residual); --cond-hidden 0 projects the encodings per block as that preset does.
With --plain too, the same model without attention trains in the same process, its steps
interleaved with the first's, so both see the same machine (bench/train-step.ts's seed row).
With --model phase-b, the model is the default experiment's (phase_b.py, `--preset phase-b`:
no EMA copy, so sampling uses the trained weights, as that preset does).

Prints one JSON line: {"train_ms": ..., "sample_ms": ..., "threads": ..., "torch": ...}
(and "train_min_ms", with --plain "plain_train_ms" and "plain_train_min_ms").
Run with the system interpreter: /usr/bin/python3 bench/reference/unet.py --size 16 ...
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def largest_divisor_up_to(n, limit):
    for g in range(min(n, limit), 1, -1):
        if n % g == 0:
            return g
    return 1


def gelu(x):
    return F.gelu(x)  # exact (erf) form, as in engine/models/unet.ts


class DoubleConv(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        g = largest_divisor_up_to(cout, groups)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.gn1 = nn.GroupNorm(g, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.gn2 = nn.GroupNorm(g, cout, eps=1e-5)

    def forward(self, x):
        h = gelu(self.gn1(self.conv1(x)))
        return gelu(self.gn2(self.conv2(h)))


class SelfAttention(nn.Module):
    """GroupNorm, q/k/v projections, per head softmax(QK^T/sqrt(d))V, output projection, + x."""

    def __init__(self, c, groups, heads=1):
        super().__init__()
        self.gn = nn.GroupNorm(largest_divisor_up_to(c, groups), c, eps=1e-5)
        self.q = nn.Linear(c, c, bias=False)
        self.k = nn.Linear(c, c, bias=False)
        self.v = nn.Linear(c, c, bias=False)
        self.o = nn.Linear(c, c, bias=False)
        self.heads = heads

    def forward(self, x):
        b, c, h, w = x.shape
        n = self.gn(x).flatten(2).transpose(1, 2)  # [b, hw, c]
        d = c // self.heads

        def split(t):
            return t.reshape(b, h * w, self.heads, d).transpose(1, 2)  # [b, heads, hw, d]

        q, k, v = split(self.q(n)), split(self.k(n)), split(self.v(n))
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        mix = (a @ v).transpose(1, 2).reshape(b, h * w, c)
        return x + self.o(mix).transpose(1, 2).reshape(b, c, h, w)


class Unet(nn.Module):
    def __init__(
        self, size=16, widths=(16, 32, 64), groups=8, enc_dim=32, cond_hidden=64, attention=False
    ):
        super().__init__()
        w0, w1, w2 = widths
        self.size = size
        self.enc_dim = enc_dim
        cond = cond_hidden if cond_hidden > 0 else 3 * enc_dim
        self.stem = nn.Conv2d(1, w0, 3, padding=1)
        self.cond = nn.Linear(3 * enc_dim, cond_hidden) if cond_hidden > 0 else None
        plan = [
            ("down1", w0, w1),
            ("down2", w1, w2),
            ("down3", w2, w2),
            ("up1", 2 * w2, w1),
            ("up2", 2 * w1, w0),
            ("up3", 2 * w0, w0),
        ]
        self.blocks = nn.ModuleDict({n: DoubleConv(ci, co, groups) for n, ci, co in plan})
        self.emb = nn.ModuleDict({n: nn.Linear(cond, co) for n, _, co in plan})
        self.attn = (
            nn.ModuleDict({n: SelfAttention(co, groups) for n, _, co in plan}) if attention else None
        )
        self.out = nn.Conv2d(w0, 1, 1)
        half = enc_dim // 2
        self.register_buffer(
            "tf", torch.tensor([1 / math.pow(10000, k / half) for k in range(half)])
        )
        lo, hi = 2.0, 4.0 * size
        pf = [
            2 * math.pi / (lo * math.pow(hi / lo, (k / (half - 1)) if half > 1 else 0))
            for k in range(half)
        ]
        self.register_buffer("pf", torch.tensor(pf))

    @staticmethod
    def sinusoid(v, freqs):
        a = v.reshape(-1, 1) * freqs.reshape(1, -1)
        return torch.cat([torch.sin(a), torch.cos(a)], 1)

    def forward(self, x, t, labels):
        cond = torch.cat(
            [
                self.sinusoid(t, self.tf),
                self.sinusoid(labels[:, 0], self.pf),
                self.sinusoid(labels[:, 1], self.pf),
            ],
            1,
        )
        if self.cond is not None:
            cond = gelu(self.cond(cond))

        def bias(name):
            return self.emb[name](cond)[:, :, None, None]

        def block(name, h):
            h = self.blocks[name](h) + bias(name)
            return self.attn[name](h) if self.attn is not None else h

        def up(h):
            return F.interpolate(h, scale_factor=2, mode="nearest")

        stem = self.stem(x)
        d1 = block("down1", F.avg_pool2d(stem, 2))
        d2 = block("down2", F.avg_pool2d(d1, 2))
        d3 = block("down3", F.avg_pool2d(d2, 2))
        u1 = block("up1", torch.cat([up(d3), d2], 1))
        u2 = block("up2", torch.cat([up(u1), d1], 1))
        u3 = block("up3", torch.cat([up(u2), stem], 1))
        return self.out(u3)


def cosine_alpha_bars(T, s=0.008):
    """engine/models/schedule.ts's cosine schedule: betas clipped at 0.999, alpha bars their product."""

    def f(t):
        return math.cos(((t / T + s) / (1 + s)) * (math.pi / 2)) ** 2

    out, prod = [], 1.0
    for i in range(T):
        prod *= 1 - min(1 - f(i + 1) / f(i), 0.999)
        out.append(prod)
    return torch.tensor(out, dtype=torch.float32)


def ddim_times(T, steps):
    out = []
    for i in range(steps):
        t = T - 1 if steps == 1 else round(((T - 1) * (steps - 1 - i)) / (steps - 1))
        if not out or t < out[-1]:
            out.append(t)
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10, help="timed training steps")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--sample", type=int, default=500, help="images in the sampling pass (0: skip)")
    p.add_argument("--sample-steps", type=int, default=20)
    p.add_argument("--chunk", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--T", type=int, default=100)
    p.add_argument("--cond-hidden", type=int, default=64)
    p.add_argument("--attention", choices=["none", "interlaced"], default="none")
    p.add_argument("--plain", action="store_true", help="also time the model without attention")
    p.add_argument("--model", choices=["unet", "phase-b"], default="unet")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    widths = tuple(int(w) for w in a.widths.split(","))
    S, B, T = a.size, a.batch, a.T
    def make(attention):
        if a.model == "phase-b":
            from phase_b import PhaseBUnet

            model = PhaseBUnet(widths, hidden=a.cond_hidden)
            return model, None, torch.optim.Adam(model.parameters(), lr=1e-3)
        model = Unet(S, widths, cond_hidden=a.cond_hidden, attention=attention)
        ema = Unet(S, widths, cond_hidden=a.cond_hidden, attention=attention)
        ema.load_state_dict(model.state_dict())
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        return model, ema, opt

    model, ema, opt = make(a.attention == "interlaced")
    ab = cosine_alpha_bars(T)
    images = torch.sin(torch.arange(B * S * S, dtype=torch.float32)).reshape(B, 1, S, S)
    labels = torch.rand(B, 2) * S

    def train_step(model=model, ema=ema, opt=opt):
        t = torch.randint(0, T, (B,))
        a_ = ab[t].sqrt().reshape(B, 1, 1, 1)
        b_ = (1 - ab[t]).sqrt().reshape(B, 1, 1, 1)
        noise = torch.randn(B, 1, S, S)
        xt = images * a_ + noise * b_
        loss = F.mse_loss(model(xt, t.float(), labels), noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for pe, pm in zip([] if ema is None else ema.parameters(), model.parameters()):
                pe.mul_(0.99).add_(pm, alpha=0.01)
        return loss.item()

    plain = make(False) if a.plain else None
    for _ in range(a.warmup):
        train_step()
        if plain:
            train_step(*plain)
    times, plain_times = [], []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        train_step()
        times.append((time.perf_counter() - t0) * 1000)
        if plain:
            t0 = time.perf_counter()
            train_step(*plain)
            plain_times.append((time.perf_counter() - t0) * 1000)
    # The median is robust to the preemptions of a shared machine (bench/train-step.ts does the same).
    train_ms = statistics.median(times)

    sample_ms = None
    if a.sample > 0:
        ts = ddim_times(T, a.sample_steps)
        sampler = model if ema is None else ema
        lab = torch.rand(a.sample, 2) * S
        t0 = time.perf_counter()
        with torch.no_grad():
            for start in range(0, a.sample, a.chunk):
                n = min(a.chunk, a.sample - start)
                x = torch.randn(n, 1, S, S)
                for i, t in enumerate(ts):
                    tp = ts[i + 1] if i + 1 < len(ts) else -1
                    eps = sampler(x, torch.full((n,), float(t)), lab[start : start + n])
                    abt = float(ab[t])
                    abp = float(ab[tp]) if tp >= 0 else 1.0
                    x0 = ((x - eps * math.sqrt(1 - abt)) / math.sqrt(abt)).clamp(-1, 1)
                    e = (x - x0 * math.sqrt(abt)) / math.sqrt(1 - abt)
                    x = x0 if tp < 0 else x0 * math.sqrt(abp) + e * math.sqrt(1 - abp)
        sample_ms = (time.perf_counter() - t0) * 1000
    print(
        json.dumps(
            {
                "train_ms": train_ms,
                "train_min_ms": min(times),
                **(
                    {
                        "plain_train_ms": statistics.median(plain_times),
                        "plain_train_min_ms": min(plain_times),
                    }
                    if plain
                    else {}
                ),
                "sample_ms": sample_ms,
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
