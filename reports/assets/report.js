// kafkasim report interactivity: copy buttons, tooltips, a time cursor shared
// by every timeline, and the client-history lanes drawn on a canvas.
(function () {
  "use strict";
  const tip = document.createElement("div");
  tip.className = "tooltip";
  document.body.appendChild(tip);
  function showTip(text, x, y) {
    tip.textContent = text;
    tip.style.display = "block";
    tip.style.left = Math.min(x + 12, window.innerWidth - 500) + "px";
    tip.style.top = (y + 14) + "px";
  }
  function hideTip() { tip.style.display = "none"; }

  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.addEventListener("click", function () {
      const text = document.getElementById(b.dataset.copy).textContent;
      if (navigator.clipboard) { navigator.clipboard.writeText(text).catch(function () {}); }
      b.textContent = "copied";
      setTimeout(function () { b.textContent = "copy"; }, 1200);
    });
  });

  document.querySelectorAll("[data-tip]").forEach(function (el) {
    el.addEventListener("mousemove", function (e) { showTip(el.dataset.tip, e.clientX, e.clientY); });
    el.addEventListener("mouseleave", hideTip);
  });

  // The time cursor: every .timeline has data-duration (ns) and an x range
  // (data-x0, data-x1 as fractions of its width) that maps time to pixels.
  const listeners = [];
  function showTime(ns) {
    document.querySelectorAll(".timeline[data-duration]").forEach(function (tl) {
      let c = tl.querySelector(".cursor");
      if (!c) { c = document.createElement("div"); c.className = "cursor"; tl.appendChild(c); }
      const d = Number(tl.dataset.duration), x0 = Number(tl.dataset.x0 || 0), x1 = Number(tl.dataset.x1 || 1);
      const f = x0 + (x1 - x0) * Math.min(Math.max(ns / d, 0), 1);
      c.style.left = (f * tl.clientWidth) + "px";
      c.style.display = "block";
    });
    listeners.forEach(function (fn) { fn(ns); });
  }
  document.querySelectorAll("[data-at]").forEach(function (el) {
    el.addEventListener("click", function () {
      showTime(Number(el.dataset.at));
      const target = document.getElementById(el.dataset.scroll || "timelines");
      if (target) { target.scrollIntoView({ behavior: "smooth", block: "start" }); }
    });
  });

  // Client lanes.
  const dataEl = document.getElementById("lanes-data");
  const canvas = document.getElementById("lanes-canvas");
  if (!dataEl || !canvas) { return; }
  const data = JSON.parse(dataEl.textContent);
  // The lanes share the timelines' x axis: the same label margin, as a
  // fraction of the width.
  const rowH = 14, axisH = 22, labelFrac = Number(canvas.dataset.x0 || 0.06);
  let labelW = 60;
  const colors = { ok: "#2da44e", fail: "#cf222e", unknown: "#bf8700" };
  let view0 = 0, view1 = data.duration;
  let cursor = -1;
  listeners.push(function (ns) { cursor = ns / 1e6; draw(); });
  function resize() {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth, h = axisH + data.lanes.length * rowH + 4;
    labelW = w * labelFrac;
    canvas.style.height = h + "px";
    canvas.width = Math.floor(w * ratio);
    canvas.height = Math.floor(h * ratio);
    canvas.getContext("2d").setTransform(ratio, 0, 0, ratio, 0, 0);
    draw();
  }
  function xOf(ms) { return labelW + (ms - view0) / (view1 - view0) * (canvas.clientWidth - labelW); }
  function msOf(x) { return view0 + (x - labelW) / (canvas.clientWidth - labelW) * (view1 - view0); }
  function draw() {
    const ctx = canvas.getContext("2d");
    const w = canvas.clientWidth;
    ctx.clearRect(0, 0, w, canvas.clientHeight);
    ctx.font = "11px sans-serif";
    ctx.fillStyle = "#656d76";
    const span = view1 - view0;
    // A "nice" tick step (1, 2 or 5 times a power of ten) giving at most 10 ticks.
    let step = Math.pow(10, Math.floor(Math.log10(span / 10 || 1)));
    if (span / step > 10) { step *= 2; }
    if (span / step > 10) { step *= 2.5; }
    for (let t = Math.ceil(view0 / step) * step; t <= view1; t += step) {
      const x = xOf(t);
      ctx.fillRect(x, axisH - 6, 1, 6);
      ctx.fillText(t >= 1000 ? (t / 1000).toFixed(step >= 1000 ? 0 : 3) + "s" : t.toFixed(0) + "ms", x + 2, axisH - 8);
    }
    data.lanes.forEach(function (lane, i) {
      const y = axisH + i * rowH;
      ctx.fillStyle = i % 2 ? "#f6f8fa" : "#ffffff";
      ctx.fillRect(0, y, w, rowH);
      ctx.fillStyle = "#1f2328";
      ctx.fillText(lane.client, 4, y + rowH - 3);
      const ops = lane.ops;
      for (let j = 0; j < ops.length; j++) {
        const o = ops[j];
        const end = o[1] < 0 ? view1 : o[1];
        if (end < view0 || o[0] > view1) { continue; }
        const x0 = Math.max(xOf(o[0]), labelW), x1 = Math.max(xOf(end), x0 + 1);
        ctx.fillStyle = colors[data.outcomes[o[3]]] || "#888";
        ctx.fillRect(x0, y + 2, x1 - x0, rowH - 4);
      }
    });
    if (cursor >= view0 && cursor <= view1) {
      ctx.fillStyle = "#cf222e";
      ctx.fillRect(xOf(cursor), 0, 2, canvas.clientHeight);
    }
  }
  function opAt(x, y) {
    const i = Math.floor((y - axisH) / rowH);
    if (i < 0 || i >= data.lanes.length || x < labelW) { return null; }
    const t = msOf(x), ops = data.lanes[i].ops;
    let lo = 0, hi = ops.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (ops[mid][0] <= t) { lo = mid + 1; } else { hi = mid; } }
    const slack = (view1 - view0) / canvas.clientWidth * 2;
    for (let j = lo - 1; j >= 0 && j >= lo - 200; j--) {
      const o = ops[j], end = o[1] < 0 ? view1 : o[1];
      if (t <= end + slack) { return { lane: data.lanes[i], op: o }; }
    }
    return null;
  }
  canvas.addEventListener("mousemove", function (e) {
    const r = canvas.getBoundingClientRect();
    const hit = opAt(e.clientX - r.left, e.clientY - r.top);
    if (!hit) { hideTip(); return; }
    const o = hit.op;
    const end = o[1] < 0 ? "never completed" : (o[1] / 1000).toFixed(6) + "s";
    showTip(hit.lane.client + " " + data.kinds[o[2]] + " " + data.outcomes[o[3]] + "\n" +
      (o[0] / 1000).toFixed(6) + "s → " + end + "\n" + (data.labels[o[4]] || ""), e.clientX, e.clientY);
  });
  canvas.addEventListener("mouseleave", hideTip);
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    const at = msOf(e.clientX - r.left);
    const k = e.deltaY > 0 ? 1.25 : 0.8;
    view0 = Math.max(0, at - (at - view0) * k);
    view1 = Math.min(data.duration, at + (view1 - at) * k);
    if (view1 - view0 < 0.01) { view1 = view0 + 0.01; }
    draw();
  }, { passive: false });
  let drag = null;
  canvas.addEventListener("mousedown", function (e) { drag = { x: e.clientX, v0: view0, v1: view1 }; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) { return; }
    const dms = (e.clientX - drag.x) / (canvas.clientWidth - labelW) * (drag.v1 - drag.v0);
    const width = drag.v1 - drag.v0;
    view0 = Math.min(Math.max(0, drag.v0 - dms), data.duration - width);
    view1 = view0 + width;
    draw();
  });
  canvas.addEventListener("dblclick", function () { view0 = 0; view1 = data.duration; draw(); });
  window.addEventListener("resize", resize);
  resize();
})();
