/** Shapes shared by sources and operators (DESIGN.md §3). */

export interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A labelled image set; labels are bump centres (x = column, y = row) in pixel units. */
export interface Dataset {
  size: number;
  count: number;
  labels: Float32Array;
  image(i: number): Float32Array;
}

/** The snapshot record every phase operator works on. */
export interface Snapshot {
  runId: string;
  step: number;
  size: number;
  labels: Float32Array;
  images: Float32Array;
  activations: Float32Array;
  dim: number;
}

export interface Assessment {
  step: number;
  accuracy: number;
  bumps: { none: number; one: number; many: number };
  r2: { x: number; y: number; mean: number };
  embedding: Float32Array;
  phase: 'A' | 'B' | 'C';
  evidence: Record<string, number>;
}
