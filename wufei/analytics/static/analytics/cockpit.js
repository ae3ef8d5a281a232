/* The cockpit's two charts (ECharts, vendored): the Sankey of flows and the scatter of units on plain
   longitude / latitude axes (no map tiles). Data comes from the json_script "cockpit-chart-data"; the same
   figures are in the tables beside the charts. A click opens the records behind a node, link or point. Names in
   tooltips go through wufeiCharts (web/charts.js), which escapes them. */
(function () {
  "use strict";
  function start() {
    var source = document.getElementById("cockpit-chart-data");
    if (!source || typeof echarts === "undefined" || typeof wufeiCharts === "undefined") { return; }
    var tip = wufeiCharts.tooltipHtml, tonnes = wufeiCharts.tonnes;
    var data = JSON.parse(source.textContent);
    var flowsBox = document.getElementById("sankey");
    if (flowsBox && data.sankey.nodes.length) {
      var labels = {};
      data.sankey.nodes.forEach(function (n) { labels[n.name] = n.label; });
      var sankey = echarts.init(flowsBox);
      sankey.on("finished", function () { flowsBox.setAttribute("data-rendered", "true"); });
      sankey.setOption({
        animation: false,
        tooltip: { trigger: "item", formatter: function (p) {
          if (p.dataType === "edge") {
            return tip([labels[p.data.source] + " → " + labels[p.data.target] + ": " + tonnes(p.data.value)]);
          }
          return tip([labels[p.name] + (p.value !== undefined ? ": " + tonnes(p.value) : "")]);
        } },
        series: [{ type: "sankey", data: data.sankey.nodes, links: data.sankey.links, nodeAlign: "left",
                   emphasis: { focus: "adjacency" }, lineStyle: { color: "gradient", curveness: 0.5 },
                   label: { formatter: function (p) { return labels[p.name]; } } }]
      });
      sankey.on("click", function (p) { if (p.data && p.data.url) { window.location.href = p.data.url; } });
      window.addEventListener("resize", function () { sankey.resize(); });
    } else if (flowsBox) {
      flowsBox.style.display = "none";
    }
    var mapBox = document.getElementById("map-chart");
    if (mapBox && data.map.points.length) {
      var max = 0;
      data.map.points.forEach(function (p) { max = Math.max(max, p.value[2]); });
      var series = data.map.roles.map(function (role) {
        return { name: role.label, type: "scatter", itemStyle: { color: role.colour, opacity: 0.75 },
                 data: data.map.points.filter(function (p) { return p.role === role.role; }),
                 symbolSize: function (v) { return max ? 6 + 24 * Math.sqrt(v[2] / max) : 8; } };
      });
      var scatter = echarts.init(mapBox);
      scatter.on("finished", function () { mapBox.setAttribute("data-rendered", "true"); });
      scatter.setOption({
        animation: false,
        legend: { top: 0 },
        tooltip: { trigger: "item", formatter: function (p) {
          return tip([p.data.name, tonnes(p.data.value[2])]); } },
        xAxis: { type: "value", scale: true, name: "E" }, yAxis: { type: "value", scale: true, name: "N" },
        series: series
      });
      scatter.on("click", function (p) { if (p.data && p.data.url) { window.location.href = p.data.url; } });
      window.addEventListener("resize", function () { scatter.resize(); });
    } else if (mapBox) {
      mapBox.style.display = "none";
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
