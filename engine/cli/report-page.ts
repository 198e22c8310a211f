import { MARK_COLORS, PHASE_COLORS, withAlpha } from '../../common/colours.js';

/** The phase band's fill: the dashboard's phase colour, faint. */
const PHASE_BAND = {
  A: withAlpha(PHASE_COLORS.A, 0.18),
  B: withAlpha(PHASE_COLORS.B, 0.18),
  C: withAlpha(PHASE_COLORS.C, 0.18),
};

/**
 * The browser side of `phasewatch report`: plain JavaScript (a string, so no bundler helper
 * leaks into the page) that draws one figure spec into a fixed-size element with Chart.js
 * (loaded into the page beforehand) or a 2-D canvas. `window.renderFigure(spec)` returns
 * once the figure is drawn.
 */
export const REPORT_PAGE_JS = String.raw`
(() => {
  const PHASE_BAND = ${JSON.stringify(PHASE_BAND)};
  const PHASE_COLOUR = ${JSON.stringify(PHASE_COLORS)};
  const MIN_BAND = 6;
  const MARK = ${JSON.stringify(MARK_COLORS)};
  const LINE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
  Chart.defaults.animation = false;
  Chart.defaults.responsive = false;
  Chart.defaults.devicePixelRatio = 1;
  Chart.defaults.font.size = 13;

  const bandPlugin = (bands) => ({
    id: 'phaseBand',
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea: a, scales } = chart;
      ctx.save();
      for (const b of bands) {
        const x1 = Math.min(a.right, scales.x.getPixelForValue(b.to));
        // a phase reached at the last step is drawn narrow, up to that step, as the dashboard does
        const x0 = b.from === b.to ? x1 - MIN_BAND : Math.max(a.left, scales.x.getPixelForValue(b.from));
        if (x1 <= x0) continue;
        ctx.fillStyle = PHASE_BAND[b.phase];
        ctx.fillRect(x0, a.top, x1 - x0, a.bottom - a.top);
        ctx.fillStyle = PHASE_COLOUR[b.phase];
        ctx.fillText(b.phase, x0 + 4, a.top + 12);
      }
      ctx.restore();
    },
  });

  const whiteBackground = {
    id: 'white',
    beforeDraw(chart) {
      const { ctx, width, height } = chart;
      ctx.save();
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(0, 0, width, height);
      ctx.restore();
    },
  };

  function canvasIn(el, w, h) {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    c.style.width = w + 'px';
    c.style.height = h + 'px';
    el.appendChild(c);
    return c;
  }

  function lines(el, spec, w, h) {
    const datasets = spec.series.map((s, i) => ({
      label: s.label,
      data: s.points.map(([x, y]) => ({ x, y })),
      borderColor: s.colour || LINE[i % LINE.length],
      backgroundColor: s.colour || LINE[i % LINE.length],
      borderWidth: 2,
      pointRadius: spec.pointRadius ?? 2,
      showLine: spec.showLine ?? true,
      tension: 0,
    }));
    new Chart(canvasIn(el, w, h), {
      type: 'scatter',
      data: { datasets },
      options: {
        plugins: {
          title: { display: true, text: spec.title },
          legend: { display: datasets.length > 1 && datasets.length <= 16, position: 'bottom' },
        },
        scales: {
          x: { type: spec.logX ? 'logarithmic' : 'linear', title: { display: true, text: spec.xLabel || '' }, min: spec.xMin, max: spec.xMax },
          y: { title: { display: true, text: spec.yLabel || '' }, min: spec.yMin, max: spec.yMax },
        },
      },
      plugins: [whiteBackground, bandPlugin(spec.bands || [])],
    });
  }

  function embeddings(el, spec, w, h) {
    const n = spec.panels.length || 1;
    el.style.display = 'flex';
    for (const p of spec.panels) {
      new Chart(canvasIn(el, Math.floor(w / n), h), {
        type: 'scatter',
        data: {
          datasets: [{
            data: p.points.map(([x, y]) => ({ x, y })),
            pointBackgroundColor: p.colours,
            pointBorderWidth: 0,
            pointRadius: 3,
          }],
        },
        options: {
          plugins: { title: { display: true, text: p.title }, legend: { display: false } },
          scales: { x: { title: { display: true, text: 'UMAP 1' } }, y: { title: { display: true, text: 'UMAP 2' } } },
        },
        plugins: [whiteBackground],
      });
    }
  }

  function samples(el, spec, w, h) {
    const c = canvasIn(el, w, h);
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = '#222';
    ctx.font = 'bold 15px sans-serif';
    ctx.fillText(spec.title, 10, 20);
    const rows = spec.rows.length || 1;
    const top = 30;
    const rowH = (h - top) / rows;
    spec.rows.forEach((row, r) => {
      const y0 = top + r * rowH;
      ctx.fillStyle = PHASE_COLOUR[row.phase] || '#222';
      ctx.font = '13px sans-serif';
      ctx.fillText(row.title, 10, y0 + 14);
      const cols = Math.max(1, row.thumbs.length);
      const side = Math.max(4, Math.min((w - 20) / cols - 4, rowH - 26));
      row.thumbs.forEach((t, i) => {
        const size = Math.round(Math.sqrt(t.pixels.length));
        const img = ctx.createImageData(size, size);
        for (let k = 0; k < size * size; k++) {
          const g = t.pixels[k];
          img.data.set([g, g, g, 255], 4 * k);
        }
        const tmp = document.createElement('canvas');
        tmp.width = size;
        tmp.height = size;
        tmp.getContext('2d').putImageData(img, 0, 0);
        const x = 10 + i * (side + 4);
        const y = y0 + 20;
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(tmp, x, y, side, side);
        const k = side / size;
        // where the bump should be (a cross) and where it was found (a circle), as the dashboard marks them
        ctx.strokeStyle = MARK.label;
        ctx.lineWidth = 1.5;
        const lx = x + (t.label[0] + 0.5) * k;
        const ly = y + (t.label[1] + 0.5) * k;
        ctx.beginPath();
        ctx.moveTo(lx - 4, ly);
        ctx.lineTo(lx + 4, ly);
        ctx.moveTo(lx, ly - 4);
        ctx.lineTo(lx, ly + 4);
        ctx.stroke();
        if (t.found) {
          ctx.strokeStyle = MARK.found;
          ctx.beginPath();
          ctx.arc(x + (t.found[0] + 0.5) * k, y + (t.found[1] + 0.5) * k, 4, 0, 2 * Math.PI);
          ctx.stroke();
        }
      });
    });
  }

  window.renderFigure = (spec) => {
    const el = document.getElementById('figure');
    el.innerHTML = '';
    el.style.width = spec.width + 'px';
    el.style.height = spec.height + 'px';
    el.style.display = 'block';
    if (spec.kind === 'lines') lines(el, spec, spec.width, spec.height);
    else if (spec.kind === 'embeddings') embeddings(el, spec, spec.width, spec.height);
    else if (spec.kind === 'samples') samples(el, spec, spec.width, spec.height);
    else throw new Error('unknown figure kind ' + spec.kind);
    return true;
  };
})();
`;

/**
 * Page script: `window.mountSweepView(spec)` mounts the dashboard's `<sweep-view>` (defined by
 * its bundle) as a figure of the requested size, with series shaped as the dashboard's, and
 * resolves once it has drawn.
 */
export const MOUNT_SWEEP_VIEW_JS = String.raw`
window.mountSweepView = async (spec) => {
  const el = document.getElementById('figure');
  el.innerHTML = '';
  Object.assign(el.style, { width: spec.width + 'px', height: spec.height + 'px', overflow: 'hidden', display: 'block' });
  await customElements.whenDefined('sweep-view');
  const view = document.createElement('sweep-view');
  view.style.height = '100%';
  // the title and the two legend rows take about this much; the plot gets the rest
  view.style.setProperty('--sweep-plot-height', Math.max(120, spec.height - 104) + 'px');
  Object.assign(view, {
    figure: true,
    xKey: spec.x,
    yChoice: spec.y,
    metas: spec.runs.map((r) => r.meta),
    series: spec.runs.map((r) => ({
      runId: r.meta.runId,
      name: r.meta.name,
      lastStep: r.lastStep,
      phases: r.phases,
      assessments: [],
      metrics: new Map(Object.entries(r.metrics)),
      end: r.ended ? {} : undefined,
    })),
  });
  el.appendChild(view);
  await view.updateComplete;
  const start = performance.now();
  while (!view.dataset.drawn && performance.now() - start < 5000) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  if (!view.dataset.drawn) throw new Error('the sweep view drew nothing');
  return view.dataset.points;
};
`;

/**
 * Page script: `window.mountTimeline(spec)` mounts the dashboard's `<phase-timeline>` (defined
 * by its bundle) at the figure's width and its own height, and resolves with the bands it drew
 * (its `data-bands`).
 */
export const MOUNT_TIMELINE_JS = String.raw`
window.mountTimeline = async (spec) => {
  const el = document.getElementById('figure');
  el.innerHTML = '';
  Object.assign(el.style, { width: spec.width + 'px', height: 'auto', overflow: 'hidden', display: 'block' });
  await customElements.whenDefined('phase-timeline');
  const view = document.createElement('phase-timeline');
  view.series = spec.runs;
  el.appendChild(view);
  await view.updateComplete;
  // drawn at its measured width once the resize observer has reported it
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  await view.updateComplete;
  return view.dataset.bands;
};
`;
