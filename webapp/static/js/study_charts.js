// The study page's four charts (Chart.js, the global from chart.umd.js): time, speedup with the ideal
// line and the Amdahl fits, efficiency, Karp–Flatt. Drawn from the study's JSON (the `series` of
// webapp/studies/serializers.study_document), the same numbers as the tables and the SVG downloads,
// in the same style: colours, markers and the log time axis come from the document's chart_style
// (webapp/studies/svg_chart.chart_style). Text, grid and background follow the page's theme (light or dark).

// Medians are points; min–max over repetitions are whiskers drawn by this plugin from dataset.whiskers.
const whiskers = {
  id: "paralabWhiskers",
  afterDatasetsDraw(chart) {
    const { ctx, scales } = chart;
    chart.data.datasets.forEach((dataset, index) => {
      if (!dataset.whiskers || !chart.isDatasetVisible(index)) return;
      ctx.save();
      ctx.strokeStyle = dataset.borderColor;
      ctx.lineWidth = 1.5;
      for (const { x, low, high } of dataset.whiskers) {
        const px = scales.x.getPixelForValue(x);
        const top = scales.y.getPixelForValue(high);
        const bottom = scales.y.getPixelForValue(low);
        ctx.beginPath();
        ctx.moveTo(px, top);
        ctx.lineTo(px, bottom);
        ctx.moveTo(px - 4, top);
        ctx.lineTo(px + 4, top);
        ctx.moveTo(px - 4, bottom);
        ctx.lineTo(px + 4, bottom);
        ctx.stroke();
      }
      ctx.restore();
    });
  },
};

// The page's colours (paralab.css custom properties), read when drawing so a chart follows the theme.
function theme() {
  const css = getComputedStyle(document.documentElement);
  const read = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  return { ink: read("--ink", "#1d2330"), muted: read("--muted", "#5d6678"), grid: read("--line", "#d8dde6"), background: read("--bg", "#fff") };
}

// The page's background, so a chart saved as PNG is not transparent (black in some viewers).
const background = {
  id: "paralabBackground",
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = theme().background;
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

function line(label, color, data, extra = {}) {
  return { label, data, borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: 3.5, pointStyle: "circle", tension: 0, ...extra };
}

const number = (value, digits = 2) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));

function topWorkers(series) {
  return Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.workers)));
}

/** Datasets of each chart, from the study's series and chart_style. */
export function chartData(series, style) {
  const colorOf = (s) => style.colors[s.backend];
  const marker = (s) => ({ pointStyle: style.markers[s.implementation], pointRadius: 4 });
  const reference = (label, data) => line(label, style.reference, data, { borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 });
  const top = topWorkers(series);
  const parallel = series.filter((s) => !s.is_baseline);
  const time = series.map((s) => {
    const color = colorOf(s);
    if (s.is_baseline) {
      const median = s.points[0].median;
      return line(`${s.label} (baseline)`, color, [{ x: 1, y: median }, { x: top, y: median }], { borderDash: [2, 3], pointRadius: 0 });
    }
    return line(s.label, color, s.points.map((p) => ({ x: p.workers, y: p.median })), {
      whiskers: s.points.map((p) => ({ x: p.workers, low: p.low, high: p.high })),
      ...marker(s),
    });
  });
  const speedup = [reference("ideal (S = p)", [{ x: 1, y: 1 }, { x: top, y: top }])];
  for (const s of parallel) {
    const color = colorOf(s);
    // A speedup whose 95% interval contains 1 is not drawn as one: it would be read as a gain.
    const points = s.points.filter((p) => p.speedup !== null && p.speedup_clear);
    speedup.push(line(s.label, color, points.map((p) => ({ x: p.workers, y: p.speedup })), {
      whiskers: points.map((p) => ({ x: p.workers, low: p.speedup_low, high: p.speedup_high })),
      ...marker(s),
    }));
    if (s.amdahl) {
      speedup.push(line(`${s.label}: Amdahl fit, f = ${number(s.amdahl.serial_fraction, 3)}`, color,
        s.amdahl.curve.map(([x, y]) => ({ x, y })), { borderDash: [1, 3], pointRadius: 0, borderWidth: 1.5 }));
    }
  }
  const efficiency = [reference("ideal (E = 1)", [{ x: 1, y: 1 }, { x: top, y: 1 }])];
  const karpFlatt = [];
  for (const s of parallel) {
    const color = colorOf(s);
    efficiency.push(line(s.label, color, s.points.filter((p) => p.efficiency !== null).map((p) => ({ x: p.workers, y: p.efficiency })), marker(s)));
    karpFlatt.push(line(s.label, color, s.points.filter((p) => p.karp_flatt !== null).map((p) => ({ x: p.workers, y: p.karp_flatt })), marker(s)));
  }
  return { time, speedup, efficiency, karp_flatt: karpFlatt };
}

const AXES = {
  time: "wall time (s)",
  speedup: "speedup (×)",
  efficiency: "efficiency S/p",
  karp_flatt: "serial fraction e",
};

// Log axis labels at 1, 2 and 5 of each decade, below 1 s too (0.1, 0.2, 0.5): Chart.js labels fewer.
function logTick(value) {
  const mantissa = value / 10 ** Math.floor(Math.log10(value) + 1e-9);
  return [1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6) ? String(Number(value.toPrecision(3))) : "";
}

function options(name, top, style) {
  const colors = theme();
  const logTime = name === "time" && style.log_time;
  const grid = { color: colors.grid };
  const title = (text) => ({ display: true, text, color: colors.muted });
  const y = logTime
    ? { type: "logarithmic", grid: { color: (context) => (logTick(context.tick.value) ? colors.grid : "transparent") }, title: title(`${AXES[name]}, log scale`), ticks: { autoSkip: false, callback: logTick, color: colors.ink } }
    : { type: "linear", beginAtZero: true, grace: "8%", grid, title: title(AXES[name]), ticks: { color: colors.ink } };
  return {
    animation: false,
    maintainAspectRatio: false,
    parsing: true,
    color: colors.ink,
    interaction: { mode: "nearest", intersect: false },
    scales: {
      // Padded by a quarter worker each side so points on the first and last count are not cut in half.
      x: {
        type: "linear",
        min: 0.75,
        max: Math.max(2, top) + 0.25,
        grid,
        ticks: { stepSize: 1, color: colors.ink, callback: (value) => (Number.isInteger(value) ? value : "") },
        title: title("workers"),
      },
      y,
    },
    plugins: {
      // One legend for the four charts sits above them (colour = backend, marker = implementation).
      legend: { display: false },
      tooltip: {
        callbacks: {
          label: (item) => `${item.dataset.label}: ${number(item.parsed.y, name === "karp_flatt" ? 3 : 2)}`,
        },
      },
    },
  };
}

/**
 * Draw (or redraw) the charts into the canvases marked data-chart inside `root`; returns the Chart
 * instances by name. Returns null when Chart.js did not load: the page keeps its tables and SVG links.
 */
export function drawCharts(root, doc, charts = {}) {
  if (typeof window.Chart === "undefined") return null;
  const { series, chart_style: style } = doc;
  const data = chartData(series, style);
  const top = topWorkers(series);
  for (const canvas of root.querySelectorAll("canvas[data-chart]")) {
    const name = canvas.dataset.chart;
    if (!(name in data)) continue;
    if (charts[name]) {
      charts[name].data.datasets = data[name];
      charts[name].options = options(name, top, style);
      charts[name].update("none");
    } else {
      charts[name] = new window.Chart(canvas, {
        type: "line",
        data: { datasets: data[name] },
        options: options(name, top, style),
        plugins: [whiskers, background],
      });
    }
  }
  return charts;
}

/** Save one chart as a PNG file, as drawn on the page. */
export function downloadPng(chart, filename) {
  const link = document.createElement("a");
  link.href = chart.toBase64Image("image/png", 1);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
}
