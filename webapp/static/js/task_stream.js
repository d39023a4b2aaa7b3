// Worker lanes in the manner of Dask's task stream: a Chart.js horizontal floating bar chart with
// one row per worker and one bar per unit, from its start to its end (seconds since the run began).

// Neighbouring units get different colours so that back-to-back bars on one lane stay apart.
const PALETTE = ["#2456a6", "#e07b39", "#3a9d5d", "#8e5cc2", "#c2454f", "#2a9bb0", "#b38f1d", "#6b7a99"];
const LANE_HEIGHT = 34; // px per worker
const AXES_HEIGHT = 56; // px for the time axis and its title

const laneLabel = (worker) => `worker ${worker}`;

/**
 * A task stream drawn on `canvas` (inside a sized container), or null when Chart.js is missing.
 * update(progress) redraws it from a job event's progress: spans, per-worker counts and elapsed.
 */
export function createTaskStream(canvas, { workers }) {
  const Chart = window.Chart;
  if (!Chart) return null;
  const box = canvas.parentElement;
  // Text in the chart as on the page around it.
  const style = getComputedStyle(box);
  Chart.defaults.font.family = style.fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = style.getPropertyValue("--muted").trim() || "#5d6678";
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: [],
      datasets: [
        {
          label: "units",
          data: [],
          backgroundColor: (context) => PALETTE[(context.raw?.unit ?? 0) % PALETTE.length],
          borderColor: "#ffffff",
          borderWidth: 1,
          borderSkipped: false,
          minBarLength: 2, // a unit of a few milliseconds still shows
          barPercentage: 0.9,
          categoryPercentage: 0.85,
        },
      ],
    },
    options: {
      indexAxis: "y",
      animation: false, // up to ten redraws a second
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: {
          type: "linear",
          min: 0,
          title: { display: true, text: "seconds since the run started" },
        },
        y: { grid: { display: false } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? `unit ${items[0].raw.unit}` : ""),
            label: (item) => {
              const [start, end] = item.raw.x;
              return `${laneLabel(item.raw.worker)}: ${start.toFixed(2)}–${end.toFixed(2)} s (${(end - start).toFixed(3)} s)`;
            },
          },
        },
      },
    },
  });

  function lanesFor(progress) {
    // Every worker the job asked for has a lane from the start; a backend that numbers its
    // workers differently (ranks, hosts) adds the ones it reports.
    const ids = new Set(Array.from({ length: workers }, (_, i) => i));
    for (const id of Object.keys(progress.workers ?? {})) ids.add(Number(id));
    for (const span of progress.spans ?? []) ids.add(Number(span.worker));
    return [...ids].sort((a, b) => a - b);
  }

  return {
    update(progress) {
      const lanes = lanesFor(progress);
      const spans = progress.spans ?? [];
      chart.data.labels = lanes.map(laneLabel);
      chart.data.datasets[0].data = spans.map((span) => ({
        x: [span.start, span.end],
        y: laneLabel(span.worker),
        unit: span.unit,
        worker: span.worker,
      }));
      const lastEnd = spans.reduce((latest, span) => Math.max(latest, span.end), 0);
      chart.options.scales.x.suggestedMax = Math.max(lastEnd, progress.elapsed ?? 0, 0.001);
      box.style.height = `${AXES_HEIGHT + LANE_HEIGHT * lanes.length}px`;
      chart.resize();
      chart.update("none");
    },
    chart,
  };
}
