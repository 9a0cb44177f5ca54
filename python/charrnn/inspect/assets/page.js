// The charrnn inspect page: reads the JSON block (typed arrays deflated and base64-encoded,
// activations as int8 with a scale per unit), draws every view, and runs the model itself when
// its weights are embedded. No network: everything it needs is in this file.
"use strict";

(async function main() {
  const D = JSON.parse(document.getElementById("charrnn-data").textContent);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  };
  const SVG = "http://www.w3.org/2000/svg";  // a namespace name, never loaded
  const svgEl = (tag, attrs) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  };
  const LN2 = Math.log(2);

  // --- arrays ---------------------------------------------------------------------------
  function halfToFloat(h) {
    const out = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) {
      const x = h[i], s = x & 0x8000 ? -1 : 1, e = (x >> 10) & 0x1f, f = x & 0x3ff;
      if (e === 0) out[i] = s * f * Math.pow(2, -24);
      else if (e === 31) out[i] = f ? NaN : s * Infinity;
      else out[i] = s * (1 + f / 1024) * Math.pow(2, e - 15);
    }
    return out;
  }
  async function unpack(p) {
    const bin = atob(p.b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    const buf = await new Response(stream).arrayBuffer();
    switch (p.dtype) {
      case "int8": return new Int8Array(buf);
      case "uint8": return new Uint8Array(buf);
      case "uint16": return new Uint16Array(buf);
      case "float32": return new Float32Array(buf);
      case "float16": return halfToFloat(new Uint16Array(buf));
      default: throw new Error("unknown dtype " + p.dtype);
    }
  }

  const M = D.model, m = M.m, K = M.K, L = M.layers, W = D.window, k = 5;
  const text = D.text;
  const vocabIndex = new Map(D.vocab.map((c, i) => [c, i]));
  const [topIndex, topP, loss, entropy, rank] = await Promise.all(
    ["top_index", "top_p", "loss", "entropy", "rank"].map((key) => unpack(D[key])));
  const acts = {};  // "h1" -> {q: Int8Array (W m), scale: Float32Array (m)}
  for (const [key, a] of Object.entries(D.acts)) acts[key] = {q: await unpack(a.q), scale: Float32Array.from(a.scale)};
  const activation = (l, kind, t, u) => { const a = acts[kind + l]; return a.q[t * m + u] * a.scale[u]; };
  const relative = (l, kind, t, u) => acts[kind + l].q[t * m + u] / 127;  // -1 .. 1 of the unit's range
  const showChar = (c) => c === "\n" ? "\\n" : c === " " ? "␣" : c === "\t" ? "\\t" : c;
  const fmt = (x, d = 3) => Number(x).toFixed(d);

  // --- colour scales --------------------------------------------------------------------
  const sequential = (x) => {  // 0 white .. 1 deep red
    x = Math.max(0, Math.min(1, x));
    return `rgb(255,${Math.round(255 - 200 * x)},${Math.round(255 - 230 * x)})`;
  };
  const diverging = (v) => {  // -1 blue .. 0 white .. 1 red
    v = Math.max(-1, Math.min(1, v));
    return v >= 0 ? `rgb(255,${Math.round(255 - 190 * v)},${Math.round(255 - 210 * v)})`
                  : `rgb(${Math.round(255 + 210 * v)},${Math.round(255 + 140 * v)},255)`;
  };
  const MAX_BITS = 8;
  const gradient = (f, n = 11) => "linear-gradient(to right," +
    Array.from({length: n}, (_, i) => f(i / (n - 1))).join(",") + ")";

  // --- header ---------------------------------------------------------------------------
  const header = $("header");
  header.append(el("h1", {text: M.describe}));
  const facts = el("div", {class: "facts"});
  const fact = (s) => facts.append(el("span", {text: s}));
  fact(`cell ${M.cell}`); fact(`${L} layer${L > 1 ? "s" : ""}`); fact(`m = ${m}`);
  fact(`${M.params.toLocaleString("en")} parameters`); fact(`K = ${K}`);
  if (M.embedding) fact(`embedding ${M.embedding}`);
  fact(`text: ${D.name}`); fact(`${D.chars.toLocaleString("en")} characters analysed`);
  fact(`${fmt(D.bits_per_char)} bits per character`);
  fact(`window: first ${W.toLocaleString("en")} characters`);
  header.append(facts);
  if (D.unknown) header.append(el("div", {class: "warning", text: D.unknown}));
  for (const a of document.querySelectorAll("nav a[data-jump]"))
    a.addEventListener("click", () => $(a.dataset.jump).scrollIntoView());

  // --- text view ------------------------------------------------------------------------
  const textBox = $("text");
  const spans = [];
  const frag = document.createDocumentFragment();
  for (let t = 0; t < W; t++) {
    const s = el("span", {class: "ch", "data-i": String(t)});
    s.textContent = text[t];
    spans.push(s);
    frag.append(s);
  }
  textBox.append(frag);
  let view = {mode: "surprisal"};  // or {mode: "unit", layer, kind, unit}
  let pinned = -1;

  const colourBy = $("colour-by");
  colourBy.append(el("option", {value: "surprisal", text: "surprisal (bits for the character)"}));
  colourBy.append(el("option", {value: "unit", text: "a unit's activation"}));
  const layerSel = el("select", {id: "unit-layer"});
  for (let l = 1; l <= L; l++) layerSel.append(el("option", {value: String(l), text: `layer ${l}`}));
  const kindSel = el("select", {id: "unit-kind"});
  for (const kind of D.kinds) kindSel.append(el("option", {value: kind, text: kind}));
  const unitInput = el("input", {id: "unit-number", type: "number", min: "0", max: String(m - 1), value: "0"});
  colourBy.after(layerSel, kindSel, unitInput);
  const unitFromControls = () => ({mode: "unit", layer: +layerSel.value, kind: kindSel.value,
    unit: Math.max(0, Math.min(m - 1, Math.round(+unitInput.value || 0)))});
  colourBy.addEventListener("change", () => setView(colourBy.value === "surprisal" ? {mode: "surprisal"} : unitFromControls()));
  for (const c of [layerSel, kindSel, unitInput]) c.addEventListener("change", () => setView(unitFromControls()));

  const unitKey = (v) => `L${v.layer}.${v.kind}.${v.unit}`;
  function parseHash(h) {
    const match = /^#?L(\d+)\.([hc])\.(\d+)$/.exec(h);
    if (match) {
      const v = {mode: "unit", layer: +match[1], kind: match[2], unit: +match[3]};
      if (v.layer >= 1 && v.layer <= L && D.kinds.includes(v.kind) && v.unit < m) return v;
    }
    return {mode: "surprisal"};
  }
  function legend() {
    const box = $("legend");
    box.textContent = "";
    if (view.mode === "surprisal") {
      box.append("0 bits", el("span", {class: "legend-bar", style: `background:${gradient(sequential)}`}), `${MAX_BITS}+ bits`);
    } else {
      const a = acts[view.kind + view.layer], top = a.scale[view.unit] * 127;
      box.append(fmt(-top, 2), el("span", {class: "legend-bar", style: `background:${gradient((x) => diverging(2 * x - 1))}`}),
        `${fmt(top, 2)}  (${unitKey(view)})`);
    }
  }
  function colourText() {
    if (view.mode === "surprisal") {
      spans[0].style.backgroundColor = "";
      for (let t = 1; t < W; t++) spans[t].style.backgroundColor = sequential(loss[t - 1] / LN2 / MAX_BITS);
    } else {
      for (let t = 0; t < W; t++) spans[t].style.backgroundColor = diverging(relative(view.layer, view.kind, t, view.unit));
    }
    legend();
  }
  function setView(v, fromHash) {
    view = v;
    colourBy.value = v.mode;
    if (v.mode === "unit") {
      layerSel.value = String(v.layer); kindSel.value = v.kind; unitInput.value = String(v.unit);
    }
    const hash = v.mode === "unit" ? "#" + unitKey(v) : "#surprisal";
    if (!fromHash && location.hash !== hash) history.replaceState(null, "", hash);
    colourText();
    showUnit();
    for (const a of document.querySelectorAll(".unit-link"))
      a.classList.toggle("chosen", v.mode === "unit" && a.dataset.unit === unitKey(v));
  }
  window.addEventListener("hashchange", () => setView(parseHash(location.hash), true));

  // Hover: the model's guess at this position.
  function details(t) {
    const box = el("div");
    const next = text[t + 1];
    const p = Math.exp(-loss[t]);
    box.append(el("div", {text: `input ${JSON.stringify(text[t])} → true next ${JSON.stringify(next)}`}));
    box.append(el("div", {text: `p = ${fmt(p, 4)}, rank ${rank[t] + 1}, ${fmt(loss[t] / LN2, 2)} bits; entropy ${fmt(entropy[t] / LN2, 2)} bits`}));
    const bars = el("div", {class: "bars guesses"});
    for (let i = 0; i < k && i < K; i++) {
      const c = D.vocab[topIndex[t * k + i]], q = topP[t * k + i];
      bars.append(el("div", {class: "bar-row guess"}, el("code", {text: showChar(c)}),
        el("div", {class: "bar", style: `width:${Math.round(q * 150)}px`}), el("span", {text: fmt(q, 3)})));
    }
    box.append(bars);
    if (view.mode === "unit") box.append(el("div", {text: `${unitKey(view)} = ${fmt(activation(view.layer, view.kind, t, view.unit), 3)}`}));
    return box;
  }
  const tooltip = $("tooltip");
  textBox.addEventListener("mouseover", (e) => {
    const t = e.target.dataset && e.target.dataset.i;
    if (t === undefined) return;
    tooltip.textContent = "";
    tooltip.append(details(+t));
    tooltip.hidden = false;
    const r = e.target.getBoundingClientRect();
    tooltip.style.left = Math.min(window.innerWidth - 260, r.left) + "px";
    tooltip.style.top = (r.bottom + 6) + "px";
  });
  textBox.addEventListener("mouseleave", () => { tooltip.hidden = true; });
  function unitLink(l, kind, u, label) {
    const key = `L${l}.${kind}.${u}`;
    const a = el("span", {class: "unit-link", "data-unit": key, text: label || key});
    a.addEventListener("click", () => setView({mode: "unit", layer: l, kind, unit: u}));
    return a;
  }
  // Each unit's mean and standard deviation over the window (in q units), so that "most active
  // here" means furthest from the unit's usual value, not merely saturated.
  const moments = {};
  for (const [key, a] of Object.entries(acts)) {
    const mean = new Float64Array(m), sd = new Float64Array(m);
    for (let t = 0; t < W; t++) for (let u = 0; u < m; u++) mean[u] += a.q[t * m + u] / W;
    for (let t = 0; t < W; t++) for (let u = 0; u < m; u++) { const d = a.q[t * m + u] - mean[u]; sd[u] += d * d / W; }
    for (let u = 0; u < m; u++) sd[u] = Math.sqrt(sd[u]) || 1;
    moments[key] = {mean, sd};
  }
  const zscore = (l, kind, t, u) => { const s = moments[kind + l]; return (acts[kind + l].q[t * m + u] - s.mean[u]) / s.sd[u]; };
  function mostActive(t, n = 10) {
    const all = [];
    for (let l = 1; l <= L; l++) for (const kind of D.kinds) for (let u = 0; u < m; u++)
      all.push([zscore(l, kind, t, u), l, kind, u]);
    all.sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]));
    return all.slice(0, n);
  }
  function pin(t) {
    if (pinned >= 0) spans[pinned].classList.remove("pinned");
    pinned = t;
    spans[t].classList.add("pinned");
    const box = $("pinned");
    box.textContent = "";
    box.append(el("h3", {text: `Position ${t}`}), details(t), el("h3", {text: "Units most active here"}),
      el("div", {class: "hint", text: "value, and how many standard deviations from the unit's mean"}));
    const list = el("div", {id: "pinned-units"});
    for (const [z, l, kind, u] of mostActive(t))
      list.append(el("div", {}, unitLink(l, kind, u), el("span", {text: ` ${fmt(activation(l, kind, t, u), 3)} (${z >= 0 ? "+" : ""}${fmt(z, 1)} sd)`})));
    box.append(list);
  }
  textBox.addEventListener("click", (e) => {
    const t = e.target.dataset && e.target.dataset.i;
    if (t !== undefined && window.getSelection().isCollapsed) pin(+t);
  });

  // --- units view -----------------------------------------------------------------------
  $("units-chars").textContent = D.chars.toLocaleString("en");
  const table = $("units");
  table.append(el("tr", {}, el("th", {text: "feature"}), el("th", {text: "best units (r)"})));
  for (const row of D.units) {
    const cell = el("td");
    if (!row.units.length) cell.append(el("span", {class: "hint", text: "does not vary in this text"}));
    for (const u of row.units) cell.append(unitLink(u.layer, u.kind, u.unit, `L${u.layer}.${u.kind}.${u.unit} (${u.r >= 0 ? "+" : ""}${fmt(u.r, 2)})`));
    table.append(el("tr", {}, el("td", {text: row.feature}), cell));
  }
  function showUnit() {
    const box = $("unit-contexts");
    box.textContent = "";
    if (view.mode !== "unit") { $("unit-name").textContent = "the chosen unit"; box.append(el("p", {class: "hint", text: "Choose a unit."})); return; }
    const {layer, kind, unit} = view;
    $("unit-name").textContent = unitKey(view);
    const ki = D.kinds.indexOf(kind);
    const rs = D.r[layer - 1][ki][unit];
    box.append(el("p", {text: "r with each feature: " + D.features.map((f, i) => `${f} ${rs[i] >= 0 ? "+" : ""}${fmt(rs[i], 2)}`).join(", ")}));
    for (const [before, c, after, v] of D.contexts[layer - 1][unit]) {
      const line = el("div", {class: "context-line"});
      line.append(el("span", {text: fmt(v, 2) + "  "}), before.replace(/\n/g, "↵"), el("b", {text: c === "\n" ? "↵" : c}), after.replace(/\n/g, "↵"));
      box.append(line);
    }
    if (kind === "c") box.append(el("p", {class: "hint", text: "(the contexts are h's of the same unit)"}));
  }

  // --- span view ------------------------------------------------------------------------
  function selectSpan(a, b) {
    if (a > b) [a, b] = [b, a];
    for (const s of spans) s.classList.remove("match");
    const n = b - a + 1, out = W - n;
    const scores = [];
    for (let l = 1; l <= L; l++) for (const kind of D.kinds) {
      const q = acts[kind + l].q;
      for (let u = 0; u < m; u++) {
        let inside = 0, all = 0;
        for (let t = 0; t < W; t++) { const v = q[t * m + u]; all += v; if (t >= a && t <= b) inside += v; }
        const mi = inside / n / 127, mo = out > 0 ? (all - inside) / out / 127 : 0;
        scores.push({l, kind, u, score: mi - mo, mean: mi});
      }
    }
    scores.sort((x, y) => Math.abs(y.score) - Math.abs(x.score));
    const top = scores.slice(0, 10);
    const box = $("span-result");
    box.textContent = "";
    box.append(el("p", {text: `Span ${a}–${b}: ${JSON.stringify(text.slice(a, b + 1)).slice(0, 80)}`}));
    const list = el("div", {id: "span-units"});
    for (const s of top)
      list.append(el("div", {class: "span-unit"}, unitLink(s.l, s.kind, s.u), el("span", {text: ` inside − outside ${s.score >= 0 ? "+" : ""}${fmt(s.score, 3)}`})));
    box.append(list);
    // Elsewhere the three best fire together: each past half its mean inside, on its side.
    const three = top.slice(0, 3);
    let matches = 0;
    for (let t = 0; t < W; t++) {
      if (t >= a && t <= b) continue;
      let on = true;
      for (const s of three) {
        const sign = Math.sign(s.score) || 1;
        if (sign * relative(s.l, s.kind, t, s.u) < 0.5 * sign * s.mean || sign * s.mean <= 0) { on = false; break; }
      }
      if (on) { spans[t].classList.add("match"); matches++; }
    }
    box.append(el("p", {id: "span-matches", text: `${matches} other positions where the top three fire together are underlined in the text.`}));
    return top;
  }
  textBox.addEventListener("mouseup", () => {
    const sel = window.getSelection();
    if (!sel || sel.isCollapsed) return;
    const index = (node) => { const e = node && (node.nodeType === 1 ? node : node.parentElement); return e && e.dataset && e.dataset.i !== undefined ? +e.dataset.i : -1; };
    const a = index(sel.anchorNode), b = index(sel.focusNode);
    if (a >= 0 && b >= 0 && a !== b) selectSpan(a, b);
  });

  // --- gates view -----------------------------------------------------------------------
  const COLOURS = ["#1e88e5", "#e53935", "#43a047"];
  function axes(svg, w, h, pad, xLabel, yLabel, xTicks, yTicks, sx, sy) {
    svg.append(svgEl("line", {x1: pad, y1: h - pad, x2: w - 8, y2: h - pad, stroke: "#333"}));
    svg.append(svgEl("line", {x1: pad, y1: 8, x2: pad, y2: h - pad, stroke: "#333"}));
    for (const [v, label] of xTicks) {
      const t = svgEl("text", {x: sx(v), y: h - pad + 14, "text-anchor": "middle", "font-size": 10}); t.textContent = label; svg.append(t);
    }
    for (const [v, label] of yTicks) {
      const t = svgEl("text", {x: pad - 4, y: sy(v) + 3, "text-anchor": "end", "font-size": 10}); t.textContent = label; svg.append(t);
    }
    const xl = svgEl("text", {x: (pad + w) / 2, y: h - 4, "text-anchor": "middle", "font-size": 11}); xl.textContent = xLabel; svg.append(xl);
    const yl = svgEl("text", {x: 12, y: h / 2, "text-anchor": "middle", "font-size": 11, transform: `rotate(-90 12 ${h / 2})`}); yl.textContent = yLabel; svg.append(yl);
  }
  const gates = $("gates");
  const S = D.saturation;
  const charts = el("div", {class: "charts"});
  if (M.cell === "rnn") {
    $("gates-hint").textContent = "A vanilla RNN has no gates: per layer, each unit's fraction of time with |h| > 0.9 (saturated tanh), units sorted.";
    for (let l = 0; l < L; l++) {
      const w = 300, h = 220, pad = 40, f = S.saturated[l].slice().sort((x, y) => y - x);
      const svg = svgEl("svg", {width: w, height: h});
      const sx = (i) => pad + (w - pad - 10) * i / f.length, sy = (v) => h - pad - (h - pad - 10) * v;
      axes(svg, w, h, pad, "units (sorted)", "fraction |h| > 0.9", [], [[0, "0"], [0.5, "0.5"], [1, "1"]], sx, sy);
      f.forEach((v, i) => svg.append(svgEl("rect", {x: sx(i), y: sy(v), width: Math.max(1, (w - pad - 10) / f.length - 0.5), height: h - pad - sy(v), fill: COLOURS[0]})));
      charts.append(el("div", {class: "chart"}, el("div", {text: `layer ${l + 1}`}), svg));
    }
  } else {
    $("gates-hint").textContent = "Per layer, each unit's gate: the fraction of time it is left-saturated (< 0.1) against right-saturated (> 0.9), as in Karpathy, Johnson and Fei-Fei (2015). Points on the diagonal's far side from the origin are gates that act like switches; near the origin, gates that stay in between.";
    for (let l = 0; l < L; l++) {
      const w = 280, h = 260, pad = 42;
      const svg = svgEl("svg", {width: w, height: h});
      const sx = (v) => pad + (w - pad - 10) * v, sy = (v) => h - pad - (h - pad - 10) * v;
      axes(svg, w, h, pad, "fraction left-saturated", "fraction right-saturated", [[0, "0"], [0.5, "0.5"], [1, "1"]], [[0, "0"], [0.5, "0.5"], [1, "1"]], sx, sy);
      svg.append(svgEl("line", {x1: sx(0), y1: sy(1), x2: sx(1), y2: sy(0), stroke: "#bbb", "stroke-dasharray": "3 3"}));
      S.gates.forEach((g, gi) => {
        for (let u = 0; u < m; u++)
          svg.append(svgEl("circle", {cx: sx(S.low[l][gi][u]), cy: sy(S.high[l][gi][u]), r: 2.2, fill: COLOURS[gi], "fill-opacity": 0.6}));
      });
      const key = el("div", {});
      S.gates.forEach((g, gi) => key.append(el("span", {style: `color:${COLOURS[gi]};margin-right:10px`, text: `● ${g}`})));
      charts.append(el("div", {class: "chart"}, el("div", {text: `layer ${l + 1}`}), svg, key));
    }
  }
  gates.append(charts);

  // --- context view ---------------------------------------------------------------------
  (function context() {
    const C = D.context, w = 560, h = 280, pad = 46;
    if (!C.x.length) { $("context").append(el("p", {text: "The text is too short."})); return; }
    const xmax = Math.max(C.x[C.x.length - 1], 2), ymax = Math.max(...C.bits, C.full) * 1.05;
    const lx = (v) => Math.log(v) / Math.log(xmax);
    const sx = (v) => pad + (w - pad - 10) * lx(v), sy = (v) => h - pad - (h - pad - 10) * v / ymax;
    const svg = svgEl("svg", {width: w, height: h, id: "context-chart"});
    const ticks = [1, 3, 10, 30, 100, 300, 1000].filter((v) => v <= xmax).map((v) => [v, String(v)]);
    const yt = []; for (let v = 0; v <= ymax; v += ymax > 6 ? 2 : 1) yt.push([v, String(v)]);
    axes(svg, w, h, pad, "characters since a zeroed state", "bits per character", ticks, yt, sx, sy);
    svg.append(svgEl("polyline", {points: C.x.map((x, i) => `${sx(x)},${sy(C.bits[i])}`).join(" "), fill: "none", stroke: COLOURS[0], "stroke-width": 1.5}));
    C.x.forEach((x, i) => svg.append(svgEl("circle", {cx: sx(x), cy: sy(C.bits[i]), r: 2.5, fill: COLOURS[0]})));
    svg.append(svgEl("line", {x1: pad, x2: w - 10, y1: sy(C.full), y2: sy(C.full), stroke: COLOURS[1], "stroke-dasharray": "5 4"}));
    const t = svgEl("text", {x: w - 12, y: sy(C.full) - 5, "text-anchor": "end", "font-size": 11, fill: COLOURS[1]});
    t.textContent = `full context ${fmt(C.full, 2)} bits`;
    svg.append(t);
    $("context").append(svg);
  })();

  // --- samples --------------------------------------------------------------------------
  for (const s of D.samples) {
    const box = el("div", {class: "sample text"});
    box.append(el("div", {class: "hint", text: `temperature ${s.temperature}`}));
    for (let i = 0; i < s.text.length; i++) {
      const span = el("span", {title: `p = ${s.p[i]}`});
      span.textContent = s.text[i];
      span.style.backgroundColor = sequential(1 - s.p[i]);
      box.append(span);
    }
    $("samples").append(box);
  }

  // --- the model in the page -------------------------------------------------------------
  let net = null;
  if (D.weights) {
    const arrays = {};
    for (const e of D.weights.layout) arrays[e.name] = {data: await unpack(D.weights.arrays[e.name]), shape: e.shape, role: e.role, layer: e.layer};
    const role = (r, l) => { for (const a of Object.values(arrays)) if (a.role === r && a.layer === l) return a; return null; };
    const layers = [];
    for (let l = 1; l <= L; l++) layers.push({W: role("W", l).data, U: role("U", l).data, in: role("U", l).shape[1], b: role("b", l).data, bn: role("bn", l) && role("bn", l).data});
    net = {layers, V: role("V", 0).data, c: role("c", 0).data, E: role("E", 0) && role("E", 0).data, D: M.embedding};
  }
  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  const zeroState = () => ({h: Array.from({length: L}, () => new Float64Array(m)), c: Array.from({length: L}, () => new Float64Array(m))});
  const copyState = (s) => ({h: s.h.map((a) => a.slice()), c: s.c.map((a) => a.slice())});
  // One step of the model: state (changed in place) after reading character index x; returns
  // the logits o = V h + c of the next character.
  function step(state, x) {
    let input = null;
    if (net.E) { input = new Float64Array(net.D); for (let d = 0; d < net.D; d++) input[d] = net.E[d * K + x]; }
    for (let l = 0; l < L; l++) {
      const {W: Wl, U, b, bn} = net.layers[l], n = net.layers[l].in;
      const G = M.cell === "lstm" ? 4 : M.cell === "gru" ? 3 : 1;
      const ux = new Float64Array(G * m);  // U x_t + b
      for (let r = 0; r < G * m; r++) {
        let s = b[r];
        if (input === null) s += U[r * K + x];
        else for (let j = 0, o = r * n; j < n; j++) s += U[o + j] * input[j];
        ux[r] = s;
      }
      const hp = state.h[l], wh = new Float64Array(G * m);  // W h_{t-1}
      for (let r = 0; r < G * m; r++) { let s = 0; for (let j = 0, o = r * m; j < m; j++) s += Wl[o + j] * hp[j]; wh[r] = s; }
      const h = new Float64Array(m);
      if (M.cell === "rnn") {
        for (let i = 0; i < m; i++) h[i] = Math.tanh(ux[i] + wh[i]);
      } else if (M.cell === "lstm") {
        const c = state.c[l];
        for (let i = 0; i < m; i++) {
          const ig = sigmoid(ux[i] + wh[i]), fg = sigmoid(ux[m + i] + wh[m + i]);
          const gg = Math.tanh(ux[2 * m + i] + wh[2 * m + i]), og = sigmoid(ux[3 * m + i] + wh[3 * m + i]);
          c[i] = fg * c[i] + ig * gg;
          h[i] = og * Math.tanh(c[i]);
        }
      } else {
        for (let i = 0; i < m; i++) {
          const r = sigmoid(ux[i] + wh[i]), z = sigmoid(ux[m + i] + wh[m + i]);
          const nn = Math.tanh(ux[2 * m + i] + r * (wh[2 * m + i] + bn[i]));
          h[i] = (1 - z) * nn + z * hp[i];
        }
      }
      state.h[l] = h;
      input = h;
    }
    const o = new Float64Array(K);
    for (let j = 0; j < K; j++) { let s = net.c[j]; for (let i = 0, r = j * m; i < m; i++) s += net.V[r + i] * input[i]; o[j] = s; }
    return o;
  }
  function softmax(o, temperature = 1) {
    let top = -Infinity;
    for (const v of o) top = Math.max(top, v / temperature);
    const p = new Float64Array(o.length);
    let sum = 0;
    for (let j = 0; j < o.length; j++) { p[j] = Math.exp(o[j] / temperature - top); sum += p[j]; }
    for (let j = 0; j < o.length; j++) p[j] /= sum;
    return p;
  }
  // p_t for every position of a text from a zero state (characters outside the vocabulary
  // are skipped): what the tests compare with the native core.
  function forward(s) {
    const state = zeroState(), out = [];
    for (const ch of s) { if (!vocabIndex.has(ch)) continue; out.push(Array.from(softmax(step(state, vocabIndex.get(ch))))); }
    return out;
  }
  let rngState = 1;
  const random = () => {  // mulberry32
    rngState = (rngState + 0x6d2b79f5) | 0;
    let t = Math.imul(rngState ^ (rngState >>> 15), 1 | rngState);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let live = {text: "", states: [], logits: []};  // after each known character
  function liveUpdate() {
    const s = Array.from($("live-input").value).filter((ch) => vocabIndex.has(ch));
    let p = 0;
    while (p < s.length && p < live.text.length && s[p] === live.text[p]) p++;
    live.states.length = p; live.logits.length = p;
    let state = p ? copyState(live.states[p - 1]) : zeroState();
    for (let t = p; t < s.length; t++) {
      live.logits.push(step(state, vocabIndex.get(s[t])));
      live.states.push(copyState(state));
    }
    live.text = s;
    const box = $("live-text");
    box.textContent = "";
    s.forEach((ch, t) => {
      const span = el("span", {class: "live-ch"});
      span.textContent = ch;
      if (t > 0) {
        const pr = softmax(live.logits[t - 1])[vocabIndex.get(ch)];
        const bits = -Math.log2(pr);
        span.style.backgroundColor = sequential(bits / MAX_BITS);
        span.title = `p = ${fmt(pr, 4)}, ${fmt(bits, 2)} bits`;
      }
      box.append(span);
    });
  }
  function sampleLive(n = 200) {
    const temperature = +$("temperature").value;
    let state = live.states.length ? copyState(live.states[live.states.length - 1]) : zeroState();
    let o = live.logits.length ? live.logits[live.logits.length - 1] : step(state, vocabIndex.get(D.start));
    let out = "";
    for (let i = 0; i < n; i++) {
      const p = softmax(o, temperature);
      let u = random(), j = 0;
      while (j < K - 1 && u >= p[j]) { u -= p[j]; j++; }
      out += D.vocab[j];
      o = step(state, j);
    }
    $("live-sample").textContent = out;
    return out;
  }
  if (net) {
    $("live-dtype").textContent = D.weights.dtype;
    const input = $("live-input");
    input.value = text.slice(0, Math.min(200, text.length));
    let pending = 0;
    input.addEventListener("input", () => { clearTimeout(pending); pending = setTimeout(liveUpdate, 60); });
    $("temperature").addEventListener("input", () => { $("temperature-value").textContent = $("temperature").value; });
    $("sample-button").addEventListener("click", () => sampleLive());
    liveUpdate();
  } else {
    $("live-on").hidden = true;
    $("live-off").hidden = false;
  }

  setView(parseHash(location.hash), true);
  window.charrnnInspect = {data: D, setView, selectSpan, pin, forward: net ? forward : null, liveUpdate, sampleLive, view: () => view};
  document.body.dataset.ready = "1";
})().catch((e) => {
  window.charrnnErrors.push("init: " + String(e && (e.stack || e)));
  document.body.dataset.ready = "error";
});
