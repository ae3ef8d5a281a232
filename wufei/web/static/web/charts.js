/* Shared by every chart. ECharts writes a tooltip's formatter result into the page as HTML, so every string that
   comes from data (unit, site, region, waste, indicator and series names) passes through escapeHtml before it
   reaches a tooltip. Labels, legends and axis labels are drawn on the canvas as plain text and need no escaping. */
(function () {
  "use strict";
  function escapeHtml(value) {
    return echarts.format.encodeHTML(value === undefined || value === null ? "" : String(value));
  }
  // Tooltip HTML from plain-text lines: each line escaped, joined by line breaks.
  function tooltipHtml(lines) {
    return lines.map(escapeHtml).join("<br>");
  }
  function tonnes(value) {
    return Number(value).toFixed(3) + " t";
  }
  window.wufeiCharts = { escapeHtml: escapeHtml, tooltipHtml: tooltipHtml, tonnes: tonnes };
})();
