import {
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import type { Point } from './decimate.js';
import { COLORS } from './theme.js';
import { panRange, zoomRange, type StepRange } from './view-range.js';

// Only the pieces the dashboard draws: keeps the bundle small and startup quick.
Chart.register(
  LineController,
  LineElement,
  PointElement,
  LinearScale,
  LogarithmicScale,
  Tooltip,
  Legend,
);

export type LineDataset = ChartDataset<'line', Point[]>;

/** A line chart set up for streaming: no parsing, no animation, redrawn with update('none'). */
export function createLineChart(
  canvas: HTMLCanvasElement,
  y: { type: 'linear' | 'logarithmic'; min?: number; max?: number; title: string },
  x: { title: string } = { title: 'step' },
): Chart<'line', Point[]> {
  return new Chart<'line', Point[]>(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      parsing: false,
      normalized: true,
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      spanGaps: true,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0, hitRadius: 4 }, line: { borderWidth: 1.5, tension: 0 } },
      scales: {
        x: {
          type: 'linear',
          title: { display: true, text: x.title, color: COLORS.muted },
          ticks: { maxTicksLimit: 8, color: COLORS.textSoft, includeBounds: false },
          grid: { color: COLORS.wash },
        },
        y: {
          type: y.type,
          min: y.min,
          max: y.max,
          title: { display: true, text: y.title, color: COLORS.muted },
          ticks: { maxTicksLimit: 6, color: COLORS.textSoft },
          grid: { color: COLORS.wash },
        },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, boxHeight: 2, color: COLORS.text } },
        tooltip: { animation: false },
      },
    },
  });
}

/**
 * Sets the data and the visible steps (the range, else 0 to `lastStep`, so every chart of the
 * page spans the same steps), and redraws without animation.
 */
export function redraw(
  chart: Chart<'line', Point[]>,
  datasets: LineDataset[],
  range: StepRange,
  lastStep: number,
): void {
  chart.data.datasets = datasets;
  const x = chart.options.scales?.x;
  if (x) {
    x.min = range ? range[0] : 0;
    x.max = range ? range[1] : Math.max(1, lastStep);
  }
  chart.update('none');
}

/**
 * Wheel zooms the step axis around the pointer, drag pans it, double-click shows everything.
 * The range itself lives in the app (shared by every chart); this only reports changes, as a
 * `range-change` event from `host`.
 */
export function attachRangeGestures(
  host: HTMLElement,
  canvas: HTMLCanvasElement,
  chart: () => Chart<'line', Point[]> | undefined,
  view: () => { range: StepRange; lastStep: number },
): void {
  const emit = (range: StepRange) =>
    host.dispatchEvent(
      new CustomEvent('range-change', { detail: range, bubbles: true, composed: true }),
    );
  const current = () => {
    const { range, lastStep } = view();
    return { range, full: [0, lastStep] as const };
  };
  const fraction = (clientX: number) => {
    const area = chart()?.chartArea;
    if (!area) return 0.5;
    const left = canvas.getBoundingClientRect().left;
    return (clientX - left - area.left) / (area.right - area.left || 1);
  };
  canvas.addEventListener(
    'wheel',
    (ev) => {
      ev.preventDefault();
      const { range, full } = current();
      emit(zoomRange(range, full, fraction(ev.clientX), ev.deltaY > 0 ? 1.25 : 0.8));
    },
    { passive: false },
  );
  let dragX: number | null = null;
  canvas.addEventListener('pointerdown', (ev) => {
    dragX = ev.clientX;
    canvas.setPointerCapture(ev.pointerId);
  });
  canvas.addEventListener('pointerup', () => (dragX = null));
  canvas.addEventListener('pointermove', (ev) => {
    const { range, full } = current();
    const area = chart()?.chartArea;
    if (dragX === null || !range || !area) return;
    const steps = ((dragX - ev.clientX) / (area.right - area.left || 1)) * (range[1] - range[0]);
    dragX = ev.clientX;
    emit(panRange(range, full, steps));
  });
  canvas.addEventListener('dblclick', () => emit(null));
}
