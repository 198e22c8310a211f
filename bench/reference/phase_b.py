"""The UNet of the phase-B reference study (../shared/reference/phase-b/reference_bumps.py,
class UNet with its defaults), as phasewatch's `--preset phase-b` ports it: standard
sinusoidal encodings of t, x, y (32 dims each, max period 10,000, raw pixel coordinate) ->
Linear(96, 128) -> GELU -> Linear(128, 128) -> GELU, one Linear(128, c) per block added after
it (d1, d2, d3, u1, u2, u3); blocks conv3x3 (no bias) -> GroupNorm(1) -> GELU -> conv3x3 ->
GroupNorm(1) -> GELU; a double-conv stem; a residual bottleneck; max-pool down, bilinear
(align_corners) up; output conv 1x1; PyTorch's default initialisation.

Only the widths and the MLP width (128 in the reference) are parameters. The module `u1`'s
output is phasewatch's layer 4 (before u1's conditioning is added).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinus(v, dim, max_period=10000.0):
    half = dim // 2
    fr = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    a = v.float()[:, None] * fr[None]
    return torch.cat([torch.sin(a), torch.cos(a)], 1)


def encode(t, xy, dim=32):
    """cat(enc(t), enc(x), enc(y)): [B, 3 dim]."""
    return torch.cat([sinus(t, dim), sinus(xy[:, 0], dim), sinus(xy[:, 1], dim)], 1)


class DC(nn.Module):
    def __init__(s, ci, co, cm=None, res=False):
        super().__init__()
        cm = cm or co
        s.res = res
        s.net = nn.Sequential(nn.Conv2d(ci, cm, 3, padding=1, bias=False), nn.GroupNorm(1, cm), nn.GELU(),
                              nn.Conv2d(cm, co, 3, padding=1, bias=False), nn.GroupNorm(1, co))

    def forward(s, x):
        return F.gelu(x + s.net(x)) if s.res else F.gelu(s.net(x))


class PhaseBUnet(nn.Module):
    """forward(x [B,1,S,S], t [B], xy [B,2]) -> eps; `acts`, when given, gets `up1pre`."""

    def __init__(s, widths=(16, 32, 64), hidden=128, embdim=32):
        super().__init__()
        c1, c2, c3 = widths
        s.embdim = embdim
        s.emb = nn.Sequential(nn.Linear(3 * embdim, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        s.inc = DC(1, c1)
        s.d1, s.d2, s.d3 = DC(c1, c2), DC(c2, c3), DC(c3, c3)
        s.bot = DC(c3, c3, res=True)
        s.u1, s.u2, s.u3 = DC(2 * c3, c2, c3), DC(2 * c2, c1, c2), DC(2 * c1, c1, c1)
        s.e = nn.ModuleList([nn.Linear(hidden, c) for c in (c2, c3, c3, c2, c1, c1)])
        s.out = nn.Conv2d(c1, 1, 1)

    def forward(s, x, t, xy, acts=None):
        e = F.gelu(s.emb(encode(t, xy, s.embdim)))
        pe = lambda i: s.e[i](e)[:, :, None, None]  # noqa: E731
        up = lambda z: F.interpolate(z, scale_factor=2, mode="bilinear", align_corners=True)  # noqa: E731
        pool = lambda z: F.max_pool2d(z, 2)  # noqa: E731
        x1 = s.inc(x)
        x2 = s.d1(pool(x1)) + pe(0)
        x3 = s.d2(pool(x2)) + pe(1)
        x4 = s.d3(pool(x3)) + pe(2)
        b = s.bot(x4)
        y1c = s.u1(torch.cat([up(b), x3], 1))
        y1 = y1c + pe(3)
        y2 = s.u2(torch.cat([up(y1), x2], 1)) + pe(4)
        y3 = s.u3(torch.cat([up(y2), x1], 1)) + pe(5)
        if acts is not None:
            acts.update(up1pre=y1c)
        return s.out(y3)
