// Worker lanes in the manner of Dask's task stream: a Chart.js horizontal floating bar chart with
// one row per worker and one bar per unit, from its start to its end (seconds since the run began).

// Neighbouring units get different colours so that back-to-back bars on one lane stay apart.
const PALETTE = ["#2456a6", "#e07b39", "#3a9d5d", "#8e5cc2", "#c2454f", "#2a9bb0", "#b38f1d", "#6b7a99"];
const LANE_HEIGHT = 34; // px per worker
const AXES_HEIGHT = 56; // px for the time axis and its title

/**
 * A task stream drawn on `canvas` (inside a sized container), or null when Chart.js is missing.
 * update(progress, { now, labels }) redraws it from a job's progress: finished spans, the units still
 * running (drawn from their start to `now`, so they grow), per-worker counts and elapsed. `labels[unit]`
 * says what a unit is ("fib(37)"); `lane` names a worker ("worker", or "rank" for MPI).
 */
export function createTaskStream(canvas, { workers, lane = "worker" }) {
  const Chart = window.Chart;
  if (!Chart) return null;
  const laneLabel = (worker) => `${lane} ${worker}`;
  let unitLabels = [];
  const unitName = (unit) => unitLabels[unit] || `unit ${unit}`;
  const box = canvas.parentElement;
  // Text in the chart as on the page around it.
  const style = getComputedStyle(box);
  Chart.defaults.font.family = style.fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = style.getPropertyValue("--muted").trim() || "#5d6678";
  Chart.defaults.borderColor = style.getPropertyValue("--line").trim() || "#d8dde6"; // grid lines, dark theme too
  const chart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: [],
      datasets: [
        {
          label: "units",
          data: [],
          // A running unit is drawn lighter: it is still growing.
          backgroundColor: (context) =>
            PALETTE[(context.raw?.unit ?? 0) % PALETTE.length] + (context.raw?.running ? "80" : ""),
          borderColor: style.getPropertyValue("--bg").trim() || "#ffffff", // gaps between bars, in the page's background
          borderWidth: 1,
          borderSkipped: false,
          minBarLength: 3, // a unit of a few microseconds (an MPI rank's) still shows
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
            title: (items) => (items.length ? unitName(items[0].raw.unit) : ""),
            label: (item) => {
              const [start, end] = item.raw.x;
              const took = item.raw.running ? "running" : `${(end - start).toFixed(3)} s`;
              return `${laneLabel(item.raw.worker)}: ${start.toFixed(2)}–${end.toFixed(2)} s (${took})`;
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
    for (const [, worker] of progress.running ?? []) ids.add(Number(worker));
    return [...ids].sort((a, b) => a - b);
  }

  return {
    update(progress, { now = 0, labels } = {}) {
      if (labels) unitLabels = labels;
      const lanes = lanesFor(progress);
      const spans = progress.spans ?? [];
      const running = progress.running ?? [];
      chart.data.labels = lanes.map(laneLabel);
      const bar = (unit, worker, start, end, isRunning) => ({ x: [start, end], y: laneLabel(worker), unit, worker, running: isRunning });
      chart.data.datasets[0].data = [
        ...spans.map((span) => bar(span.unit, span.worker, span.start, span.end, false)),
        ...running.map(([unit, worker, start]) => bar(unit, worker, start, Math.max(now, start), true)),
      ];
      const lastEnd = spans.reduce((latest, span) => Math.max(latest, span.end), 0);
      chart.options.scales.x.suggestedMax = Math.max(lastEnd, now, progress.elapsed ?? 0, 0.001);
      box.style.height = `${AXES_HEIGHT + LANE_HEIGHT * lanes.length}px`;
      chart.resize();
      chart.update("none");
    },
    chart,
  };
}
