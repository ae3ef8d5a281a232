// The indicator board's chart: each rate (%) as a bar coloured by its status, the target as a marker.
document.addEventListener("DOMContentLoaded", function () {
  var holder = document.getElementById("indicator-chart");
  var source = document.getElementById("indicator-chart-data");
  if (!holder || !source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(holder);
  chart.setOption({
    grid: { left: 260, right: 40, top: 10, bottom: 30 },
    xAxis: { type: "value", max: 100 },
    yAxis: { type: "category", data: data.labels, inverse: true },
    tooltip: { trigger: "axis" },
    series: [
      { name: data.value_label, type: "bar",
        data: data.values.map(function (v, i) { return { value: v, itemStyle: { color: data.colours[i] } }; }) },
      { name: data.target_label, type: "scatter", symbol: "rect", symbolSize: [3, 18], itemStyle: { color: "#000" },
        data: data.targets }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
