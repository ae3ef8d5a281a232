// The indicator board's chart: each rate (%) as a bar coloured by its status, the target as a marker.
document.addEventListener("DOMContentLoaded", function () {
  var holder = document.getElementById("indicator-chart");
  var source = document.getElementById("indicator-chart-data");
  if (!holder || !source || typeof echarts === "undefined" || typeof wufeiCharts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(holder);
  chart.setOption({
    grid: { left: 260, right: 40, top: 10, bottom: 30 },
    xAxis: { type: "value", max: 100 },
    yAxis: { type: "category", data: data.labels, inverse: true },
    tooltip: { trigger: "axis", formatter: function (items) {
      // Indicator and series names are data: escaped by web/charts.js before they become tooltip HTML.
      var lines = [items.length ? items[0].name : ""];
      items.forEach(function (p) {
        var value = Array.isArray(p.value) ? p.value[0] : p.value;
        lines.push(p.seriesName + ": " + (typeof value === "number" ? value.toFixed(1) + " %" : "—"));
      });
      return wufeiCharts.tooltipHtml(lines);
    } },
    series: [
      { name: data.value_label, type: "bar",
        data: data.values.map(function (v, i) { return { value: v, itemStyle: { color: data.colours[i] } }; }) },
      { name: data.target_label, type: "scatter", symbol: "rect", symbolSize: [3, 18], itemStyle: { color: "#000" },
        data: data.targets }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
