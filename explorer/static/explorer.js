// Tallychain Explorer: copy buttons, relative times, and the live dashboard. No dependencies.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.copy");
    if (!button) return;
    var text = button.getAttribute("data-copy") || "";
    var done = function () {
      button.classList.add("done");
      button.textContent = "✓";
      setTimeout(function () { button.classList.remove("done"); button.textContent = "⧉"; }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, done);
    } else {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); } catch (e) { /* nothing to do */ }
      document.body.removeChild(area); done();
    }
  });

  // How far the chain's clock runs ahead of this browser's (a development chain's moved block
  // clock, and any skew): the server's now_ms, learnt from each snapshot.
  var chainAhead = 0;

  function ago(ms) {
    if (!ms) return "—";
    var seconds = Math.max(0, Math.round((Date.now() + chainAhead - ms) / 1000));
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    return Math.round(seconds / 3600) + " h ago";
  }

  function utc(ms) {
    return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function drawChart(svg, points) {
    var W = 900, H = 180, left = 40, right = 8, top = 10, bottom = 22;
    var max = 1;
    points.forEach(function (p) { if (p.tps > max) max = p.tps; });
    var nice = Math.pow(10, Math.floor(Math.log10(max)));
    max = Math.ceil(max / nice) * nice;
    var x = function (i) { return left + (W - left - right) * (points.length > 1 ? i / (points.length - 1) : 0); };
    var y = function (v) { return top + (H - top - bottom) * (1 - v / max); };
    var parts = [];
    for (var g = 0; g <= 4; g++) {
      var value = max * g / 4, gy = y(value);
      parts.push('<line class="gridline" x1="' + left + '" x2="' + (W - right) + '" y1="' + gy + '" y2="' + gy + '"/>');
      parts.push('<text x="' + (left - 6) + '" y="' + (gy + 4) + '" text-anchor="end">' + (Math.round(value * 10) / 10) + '</text>');
    }
    if (points.length) {
      var line = points.map(function (p, i) { return (i ? "L" : "M") + x(i).toFixed(1) + "," + y(p.tps).toFixed(1); }).join(" ");
      var area = line + " L" + x(points.length - 1).toFixed(1) + "," + y(0) + " L" + x(0).toFixed(1) + "," + y(0) + " Z";
      parts.push('<path class="area" d="' + area + '"/>');
      parts.push('<path class="line" d="' + line + '"/>');
      [0, Math.floor(points.length / 2), points.length - 1].forEach(function (i) {
        var label = new Date(points[i].t).toISOString().slice(11, 16) + " UTC";
        var anchor = i === 0 ? "start" : (i === points.length - 1 ? "end" : "middle");
        parts.push('<text x="' + x(i) + '" y="' + (H - 5) + '" text-anchor="' + anchor + '">' + label + '</text>');
      });
    }
    parts.push('<line class="axis" x1="' + left + '" x2="' + (W - right) + '" y1="' + y(0) + '" y2="' + y(0) + '"/>');
    svg.innerHTML = parts.join("");
  }

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el && value !== undefined && value !== null) el.textContent = String(value);
  }

  function apply(snap) {
    if (snap.now_ms) chainAhead = snap.now_ms - Date.now();
    setText("stat-height", snap.height);
    setText("stat-tps", snap.tps);
    setText("stat-view", snap.view);
    setText("stat-primary", snap.primary);
    setText("stat-mempool", snap.mempool);
    var time = document.getElementById("stat-time");
    if (time && snap.last_time_ms) {
      time.setAttribute("data-time", snap.last_time_ms);
      time.textContent = utc(snap.last_time_ms) + " · " + ago(snap.last_time_ms);
      time.title = utc(snap.last_time_ms);
    }
    var verified = document.getElementById("stat-verified");
    if (verified) {
      verified.innerHTML = snap.verified_recent
        ? (document.body.classList.contains("genesis-unverified")
          ? '<span class="badge warn">all consistent</span>' : '<span class="badge ok">all verified</span>') : '<span class="badge bad">failure</span>';
    }
    ["blocks", "txs", "validators"].forEach(function (name) {
      var el = document.getElementById("frag-" + name);
      if (el && snap.fragments && snap.fragments[name] !== undefined) el.innerHTML = snap.fragments[name];
    });
    var error = document.getElementById("live-error");
    if (error) {
      error.hidden = !snap.error;
      if (snap.error) error.querySelector("span").textContent = snap.error;
    }
    var chart = document.getElementById("tps-chart");
    if (chart && snap.chart) drawChart(chart, snap.chart);
  }

  function live() {
    var chart = document.getElementById("tps-chart");
    var data = document.getElementById("chart-data");
    if (chart && data) drawChart(chart, JSON.parse(data.textContent || "[]"));
    var dot = document.getElementById("live-dot");
    if (window.EventSource) {
      var source = new EventSource("/live/events");
      source.onopen = function () { if (dot) dot.classList.add("on"); };
      source.onerror = function () { if (dot) dot.classList.remove("on"); };
      source.onmessage = function (event) { apply(JSON.parse(event.data)); };
    } else {
      setInterval(function () {
        fetch("/live/snapshot").then(function (r) { return r.json(); }).then(apply);
      }, 2000);
    }
    setInterval(function () {
      var time = document.getElementById("stat-time");
      if (time && time.getAttribute("data-time")) {
        var at = Number(time.getAttribute("data-time"));
        time.textContent = utc(at) + " · " + ago(at);  // the date always, the age beside it
      }
    }, 1000);
  }

  if (document.body.getAttribute("data-page") === "dashboard") live();
})();
