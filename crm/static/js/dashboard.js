// Partnership CRM: draws the dashboard's charts with Chart.js (vendored beside Bootstrap).
// Each chart's numbers come from a <script type="application/json"> block (the CSP allows no
// inline script) and are also in the section's table, so the page works without this file.
(() => {
  "use strict";
  if (typeof window.Chart === "undefined") {
    return;
  }
  const css = getComputedStyle(document.documentElement);
  const colour = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
  const palette = [
    colour("--bs-primary", "#0d6efd"),
    colour("--bs-warning", "#ffc107"),
    colour("--bs-danger", "#dc3545"),
    colour("--bs-success", "#198754"),
    colour("--bs-info", "#0dcaf0"),
  ];
  const text = colour("--bs-body-color", "#212529");
  const grid = colour("--bs-border-color", "#dee2e6");

  function config(spec) {
    const horizontal = spec.kind === "hbar";
    const line = spec.kind === "line";
    const values = { beginAtZero: !line, grid: { color: grid }, ticks: { color: text } };
    if (!line && spec.max == null) {
      values.ticks.precision = 0; // counts: whole numbers only
    }
    if (spec.min != null) {
      values.min = spec.min;
    }
    if (spec.max != null) {
      values.max = spec.max;
    }
    const categories = { grid: { display: false }, ticks: { color: text, autoSkip: !horizontal } };
    return {
      type: line ? "line" : "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map((series, index) => ({
          label: series.label,
          data: series.data,
          backgroundColor: palette[index % palette.length],
          borderColor: palette[index % palette.length],
          spanGaps: false,
          tension: 0.2,
        })),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: spec.series.length > 1, labels: { color: text } },
        },
        scales: horizontal ? { x: values, y: categories } : { x: categories, y: values },
      },
    };
  }

  function height(spec) {
    if (spec.kind !== "hbar") {
      return 260;
    }
    const perRow = spec.series.length * 14 + 10;
    return Math.max(140, spec.labels.length * perRow + 60);
  }

  document.querySelectorAll("[data-chart-source]").forEach((box) => {
    const source = document.getElementById(box.dataset.chartSource);
    if (!source) {
      return;
    }
    let spec;
    try {
      spec = JSON.parse(source.textContent);
    } catch (error) {
      return; // the table below still holds the numbers
    }
    // Setting a style property from a script is allowed by the CSP (a style attribute is not).
    box.style.position = "relative";
    box.style.height = `${height(spec)}px`;
    const canvas = document.createElement("canvas");
    box.appendChild(canvas);
    new window.Chart(canvas, config(spec));
  });
})();
