export { colormap } from '../common/colours.js';

export interface View {
  /** Rotation about the vertical axis, radians. */
  yaw: number;
  /** Rotation about the horizontal axis, radians. */
  pitch: number;
}

export interface Projected {
  x: Float32Array;
  y: Float32Array;
  depth: Float32Array;
  /** Point indices far to near: draw in this order so near points cover far ones. */
  order: Uint32Array;
}

/** Centres an N*3 cloud on its bounding box and scales it into the unit ball. */
export function normalizeCloud(coords: ArrayLike<number>): Float32Array {
  const n = Math.floor(coords.length / 3);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < 3; d++) {
      lo[d] = Math.min(lo[d], coords[3 * i + d]);
      hi[d] = Math.max(hi[d], coords[3 * i + d]);
    }
  }
  const mid = lo.map((l, d) => (l + hi[d]) / 2);
  let r = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < 3; d++) s += (coords[3 * i + d] - mid[d]) ** 2;
    r = Math.max(r, Math.sqrt(s));
  }
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n * 3; i++) out[i] = (coords[i] - mid[i % 3]) / (r || 1);
  return out;
}

/**
 * Rotates a normalised cloud (yaw, then pitch) and projects it orthographically into a
 * width×height canvas, with a margin; screen y grows downwards, depth grows towards the viewer.
 */
export function projectCloud(
  cloud: Float32Array,
  view: View,
  width: number,
  height: number,
): Projected {
  const n = Math.floor(cloud.length / 3);
  const [cy, sy, cp, sp] = [
    Math.cos(view.yaw),
    Math.sin(view.yaw),
    Math.cos(view.pitch),
    Math.sin(view.pitch),
  ];
  const scale = 0.45 * Math.min(width, height);
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  const depth = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const [px, py, pz] = [cloud[3 * i], cloud[3 * i + 1], cloud[3 * i + 2]];
    const x1 = cy * px + sy * pz;
    const z1 = -sy * px + cy * pz;
    const y2 = cp * py - sp * z1;
    const z2 = sp * py + cp * z1;
    x[i] = width / 2 + scale * x1;
    y[i] = height / 2 - scale * y2;
    depth[i] = z2;
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => depth[a] - depth[b]);
  return { x, y, depth, order };
}

/** Drag of (dx, dy) pixels → new view; pitch stays within ±90° so the cloud never flips. */
export function dragView(view: View, dx: number, dy: number): View {
  const limit = Math.PI / 2;
  return {
    yaw: view.yaw + dx * 0.01,
    pitch: Math.max(-limit, Math.min(limit, view.pitch + dy * 0.01)),
  };
}
