// The study page's four charts (Chart.js, the global from chart.umd.js): time, speedup with the ideal
// line and the Amdahl fits, efficiency, Karp–Flatt. Drawn from the study's JSON (the `series` of
// webapp/studies/serializers.study_document), the same numbers as the tables and the SVG downloads.

const PALETTE = ["#2456a6", "#c0392b", "#1d7a3e", "#8e44ad", "#d35400", "#16a085", "#7f8c8d", "#b7950b", "#2c3e50", "#e84393"];
const REFERENCE = "#9aa3b2";

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

// A white background, so a chart saved as PNG is not transparent (black in some viewers).
const background = {
  id: "paralabBackground",
  beforeDraw(chart) {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

function colorsFor(series) {
  const colors = new Map();
  series.forEach((s, index) => colors.set(s.label, PALETTE[index % PALETTE.length]));
  return colors;
}

function line(label, color, data, extra = {}) {
  return { label, data, borderColor: color, backgroundColor: color, borderWidth: 2, pointRadius: 3.5, tension: 0, ...extra };
}

function reference(label, data) {
  return line(label, REFERENCE, data, { borderDash: [6, 4], pointRadius: 0, borderWidth: 1.5 });
}

const number = (value, digits = 2) => (value === null || value === undefined ? "—" : Number(value).toFixed(digits));

function topWorkers(series) {
  return Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.workers)));
}

/** Datasets of each chart, from the study's series. */
export function chartData(series) {
  const colors = colorsFor(series);
  const top = topWorkers(series);
  const parallel = series.filter((s) => !s.is_baseline);
  const time = series.map((s) => {
    const color = colors.get(s.label);
    if (s.is_baseline) {
      const median = s.points[0].median;
      return line(`${s.label} (baseline)`, color, [{ x: 1, y: median }, { x: top, y: median }], { borderDash: [2, 3], pointRadius: 0 });
    }
    return line(s.label, color, s.points.map((p) => ({ x: p.workers, y: p.median })), {
      whiskers: s.points.map((p) => ({ x: p.workers, low: p.min, high: p.max })),
    });
  });
  const speedup = [reference("ideal (S = p)", [{ x: 1, y: 1 }, { x: top, y: top }])];
  for (const s of parallel) {
    const color = colors.get(s.label);
    const points = s.points.filter((p) => p.speedup !== null);
    speedup.push(line(s.label, color, points.map((p) => ({ x: p.workers, y: p.speedup })), {
      whiskers: points.map((p) => ({ x: p.workers, low: p.speedup_min, high: p.speedup_max })),
    }));
    if (s.amdahl) {
      speedup.push(line(`${s.label}: Amdahl fit, f = ${number(s.amdahl.serial_fraction, 3)}`, color,
        s.amdahl.curve.map(([x, y]) => ({ x, y })), { borderDash: [1, 3], pointRadius: 0, borderWidth: 1.5 }));
    }
  }
  const efficiency = [reference("ideal (E = 1)", [{ x: 1, y: 1 }, { x: top, y: 1 }])];
  const karpFlatt = [];
  for (const s of parallel) {
    const color = colors.get(s.label);
    efficiency.push(line(s.label, color, s.points.filter((p) => p.efficiency !== null).map((p) => ({ x: p.workers, y: p.efficiency }))));
    karpFlatt.push(line(s.label, color, s.points.filter((p) => p.karp_flatt !== null).map((p) => ({ x: p.workers, y: p.karp_flatt }))));
  }
  return { time, speedup, efficiency, karp_flatt: karpFlatt };
}

const AXES = {
  time: "wall time (s)",
  speedup: "speedup (×)",
  efficiency: "efficiency S/p",
  karp_flatt: "serial fraction e",
};

// Implementations can differ by orders of magnitude (native fib is ~50× faster): then time is drawn on a log axis.
function timeIsLogScale(series) {
  const times = series.flatMap((s) => s.points.flatMap((p) => [p.min, p.max])).filter((t) => t > 0);
  return times.length > 0 && Math.max(...times) / Math.min(...times) > 20;
}

function options(name, top, series) {
  const logTime = name === "time" && timeIsLogScale(series);
  const y = logTime
    ? { type: "logarithmic", title: { display: true, text: `${AXES[name]}, log scale` } }
    : { type: "linear", beginAtZero: true, grace: "8%", title: { display: true, text: AXES[name] } };
  return {
    animation: false,
    maintainAspectRatio: false,
    parsing: true,
    interaction: { mode: "nearest", intersect: false },
    scales: {
      // Padded by a quarter worker each side so points on the first and last count are not cut in half.
      x: {
        type: "linear",
        min: 0.75,
        max: Math.max(2, top) + 0.25,
        ticks: { stepSize: 1, callback: (value) => (Number.isInteger(value) ? value : "") },
        title: { display: true, text: "workers" },
      },
      y,
    },
    plugins: {
      // The fitted curves share their series' colour and are named in the table; listing them would double the legend.
      legend: {
        position: "bottom",
        labels: { boxWidth: 18, font: { size: 11 }, filter: (item) => !item.text.includes("Amdahl fit") },
      },
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
export function drawCharts(root, series, charts = {}) {
  if (typeof window.Chart === "undefined") return null;
  const data = chartData(series);
  const top = topWorkers(series);
  for (const canvas of root.querySelectorAll("canvas[data-chart]")) {
    const name = canvas.dataset.chart;
    if (!(name in data)) continue;
    if (charts[name]) {
      charts[name].data.datasets = data[name];
      charts[name].options = options(name, top, series);
      charts[name].update("none");
    } else {
      charts[name] = new window.Chart(canvas, {
        type: "line",
        data: { datasets: data[name] },
        options: options(name, top, series),
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
