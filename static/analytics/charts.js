/* Draws each analytics chart from the table under it (the table is the data; without JavaScript it stays
   the page). The chart's spec (type, x column, series columns) comes from the json_script beside it. */
(function () {
  "use strict";
  var script = document.currentScript;
  var locale = (script && script.dataset.locale) || "ZH";

  function readTable(table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return { key: th.dataset.key, kind: th.dataset.kind, label: th.textContent.trim() };
    });
    var rows = Array.prototype.map.call(table.querySelectorAll("tbody tr"), function (tr) {
      var row = {};
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (!heads[i]) return;
        row[heads[i].key] = { raw: td.dataset.value, text: td.textContent.trim() };
      });
      return row;
    });
    return { heads: heads, rows: rows };
  }

  function number(cell, kind) {
    if (!cell || cell.raw === undefined || cell.raw === "") return null;
    var value = Number(cell.raw);
    if (isNaN(value)) return null;
    return kind === "fen" ? value / 100 : value; // money is shown in yuan
  }

  function head(data, key) {
    return data.heads.filter(function (h) { return h.key === key; })[0] || { key: key, label: key };
  }

  function seriesOptions(spec, data) {
    var categories = data.rows.map(function (row) { return row[spec.x] ? row[spec.x].text : ""; });
    var series = spec.series.map(function (key) {
      var h = head(data, key);
      return {
        name: h.label,
        type: spec.type,
        smooth: spec.type === "line",
        stack: spec.stack ? "total" : undefined, // parts of one whole (a campaign's costs)
        data: data.rows.map(function (row) { return number(row[key], h.kind); })
      };
    });
    return {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: categories, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value" },
      series: series
    };
  }

  function heatmapOptions(spec, data) {
    var ys = data.rows.map(function (row) { return row[spec.x].text; });
    var xs = spec.series.map(function (key) { return head(data, key).label; });
    var points = [];
    data.rows.forEach(function (row, y) {
      spec.series.forEach(function (key, x) {
        var value = number(row[key], "pct");
        if (value !== null) points.push([x, y, value]);
      });
    });
    return {
      tooltip: { position: "top", valueFormatter: function (v) { return v + "%"; } },
      grid: { left: 8, right: 16, top: 8, bottom: 56, containLabel: true },
      xAxis: { type: "category", data: xs, splitArea: { show: true } },
      yAxis: { type: "category", data: ys, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: 100, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                   inRange: { color: ["#f4f6f8", "#0b7a5c"] } },
      series: [{ type: "heatmap", data: points, label: { show: true, formatter: function (p) { return p.value[2]; } } }]
    };
  }

  function draw(box) {
    var key = box.dataset.chart;
    var specNode = document.getElementById("chart-" + key);
    var table = document.querySelector('table[data-table="' + key + '"]');
    if (!specNode || !table) return;
    var spec = JSON.parse(specNode.textContent);
    var data = readTable(table);
    var chart = echarts.init(box, null, { locale: locale, renderer: "canvas" });
    chart.setOption(spec.type === "heatmap" ? heatmapOptions(spec, data) : seriesOptions(spec, data));
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() {
    if (!window.echarts) return;
    Array.prototype.forEach.call(document.querySelectorAll(".chart[data-chart]"), draw);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
