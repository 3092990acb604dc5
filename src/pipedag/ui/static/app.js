// pipedag ui: renders the JSON endpoints of the local server; polls /api/poll for live updates.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const PAGE = 50;
const state = { run: null, follow: true, token: null, task: null, tab: "graph", overview: null, table: null, offset: 0 };

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, text) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json();
  if (response.status === 503 && body.busy) { showBusy(body.error); throw new Error("busy"); }
  if (!response.ok) throw new Error(body.error || response.statusText);
  showBusy(null);
  return body;
}

function showBusy(message) {
  const banner = $("#banner");
  banner.hidden = !message;
  banner.textContent = message || "";
  $("#live").classList.toggle("stale", !!message);
  $("#live").textContent = message ? "busy" : "live";
}

function fmtSeconds(s) { return s === null || s === undefined ? "" : (s < 10 ? s.toFixed(2) : s.toFixed(1)); }

// ------------------------------------------------------------------ overview

async function refresh() {
  const query = state.follow || state.run === null ? "" : `?run=${state.run}`;
  const data = await getJson(`/api/overview${query}`);
  state.overview = data;
  state.token = data.poll.token;
  if (data.graph.run) state.run = data.graph.run.run_id;
  $("#about").textContent = `instance ${data.instance} of ${data.pipeline}` + (data.flow ? ` · flow ${data.flow}` : "");
  renderRunSelect(data.runs);
  renderGraph(data.graph);
  renderRuns(data.runs);
  if (state.task) await showTask(state.task);
  if (state.tab === "runs" && state.run !== null) await showTimeline(state.run);
  if (state.tab === "tables") await showTables();
}

function renderRunSelect(runs) {
  const select = $("#run-select");
  select.replaceChildren(...runs.map((r) => el("option", { value: r.run_id }, `${r.run_id} · ${r.flow} · ${r.status}`)));
  if (state.run !== null) select.value = String(state.run);
}

function counts(run) {
  return Object.entries(run.counts).map(([k, v]) => `${v} ${k}`).join(", ");
}

// --------------------------------------------------------------------- graph

function renderGraph(graph) {
  const run = graph.run;
  $("#run-summary").textContent = run
    ? `run ${run.run_id}: ${run.status}${run.seconds !== null ? ` in ${fmtSeconds(run.seconds)} s` : ""} ${counts(run) ? "· " + counts(run) : ""}`
    : "no runs recorded yet";
  const box = $("#graph");
  if (!graph.nodes.length) { box.replaceChildren(el("p", { class: "hint" }, "No tasks to draw: run a flow on this instance first.")); return; }
  const svg = el("svg:svg", { width: graph.width + 20, height: graph.height + 20, id: "graph-svg" });
  const root = el("svg:g", { transform: "translate(10,10)" });
  for (const s of graph.stages) {
    const g = el("svg:g", { class: "stage", "data-stage": s.name });
    g.append(el("svg:rect", { class: "stage-box", x: s.x, y: s.y, width: s.w, height: s.h }));
    g.append(el("svg:text", { class: "stage-name", x: s.x + 10, y: s.y + 16 }, s.name));
    root.append(g);
  }
  const pos = Object.fromEntries(graph.nodes.map((n) => [n.id, n]));
  const edges = el("svg:g");
  for (const [from, to] of graph.edges) {
    const a = pos[from], b = pos[to];
    if (!a || !b) continue;
    const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2, dx = Math.max(20, (x2 - x1) / 2);
    edges.append(el("svg:path", { class: "edge", "data-from": from, "data-to": to,
      d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}` }));
  }
  root.append(edges);
  for (const n of graph.nodes) {
    const g = el("svg:g", { class: "task", "data-task": n.id, "data-state": n.state, tabindex: 0 });
    g.append(el("svg:title", {}, `${n.id}: ${n.state}`));
    g.append(el("svg:rect", { x: n.x, y: n.y, width: n.w, height: n.h }));
    const name = n.name.length > 25 ? n.name.slice(0, 24) + "…" : n.name;
    g.append(el("svg:text", { x: n.x + 7, y: n.y + n.h / 2 + 4 }, name));
    g.addEventListener("click", () => selectTask(n.id));
    root.append(g);
  }
  svg.append(root);
  box.replaceChildren(svg);
  if (state.task) highlight(state.task);
}

function highlight(id) {
  document.querySelectorAll(".task.selected").forEach((t) => t.classList.remove("selected"));
  document.querySelectorAll(".edge.hot").forEach((e) => e.classList.remove("hot"));
  const node = document.querySelector(`.task[data-task="${CSS.escape(id)}"]`);
  if (node) node.classList.add("selected");
  document.querySelectorAll(".edge").forEach((e) => {
    if (e.dataset.from === id || e.dataset.to === id) e.classList.add("hot");
  });
}

async function selectTask(id) {
  state.task = id;
  highlight(id);
  await showTask(id);
}

function kv(pairs) {
  const dl = el("dl", { class: "kv" });
  for (const [k, v, field] of pairs) {
    if (v === null || v === undefined || v === "") continue;
    dl.append(el("dt", {}, k));
    const dd = v instanceof Node ? el("dd") : el("dd", {}, v);
    if (v instanceof Node) dd.append(v);
    if (field) dd.dataset.field = field;
    dl.append(dd);
  }
  return dl;
}

async function showTask(id) {
  const aside = $("#detail");
  if (state.run === null) return;
  let t;
  try { t = await getJson(`/api/task?run=${state.run}&task=${encodeURIComponent(id)}`); }
  catch (err) { aside.replaceChildren(el("p", { class: "hint" }, `${id}: ${err.message}`)); return; }
  const badge = el("span", { class: `badge ${t.decision || "pending"}` }, t.decision || "no decision in this run");
  const parts = [el("h3", {}, id), kv([
    ["decision", badge, "decision"],
    ["reason", t.reason, "reason"],
    ["rows", t.rows, "rows"],
    ["duration", t.seconds !== null ? `${fmtSeconds(t.seconds)} s` : null, "seconds"],
    ["started", t.started_at, "started"],
    ["previous run", t.previous_run ? `run ${t.previous_run.run_id}: ${t.previous_run.decision} (${t.previous_run.reason})` : "none", "previous"],
  ])];
  if (t.record) {
    const ing = t.record.ingredients;
    parts.push(el("h4", {}, `What changed`), el("p", { "data-field": "changes" }, t.changes));
    parts.push(el("h4", {}, `Cache key (version of run ${t.record.version})`));
    const inputs = Object.entries(ing.inputs || {}).map(([k, v]) => `${k} = ${v}`).join("\n");
    parts.push(kv([
      ["key", el("code", {}, t.record.cache_key), "cache_key"],
      ["version", ing.version, "version"],
      ["inputs", inputs ? el("pre", {}, inputs) : "none", "inputs"],
      ["arguments", ing.arguments ? el("code", {}, ing.arguments) : null],
      ["cache fn", ing.cache_function],
      ["options", ing.options],
      ["query", ing.query ? el("pre", {}, ing.query) : null, "query"],
    ]));
    parts.push(el("h4", {}, "Output tables"));
    const table = el("table", { class: "grid", "data-field": "tables" });
    table.append(el("tr", {}, undefined));
    table.firstChild.append(el("th", {}, "table"), el("th", {}, "rows"), el("th", {}, "columns"));
    for (const tb of t.record.tables) {
      const tr = el("tr", { "data-table": tb.name });
      tr.append(el("td", {}, tb.name), el("td", { class: "num" }, tb.rows ?? ""), el("td", { class: "num" }, tb.columns.length));
      table.append(tr);
    }
    parts.push(t.record.tables.length ? table : el("p", { class: "hint" }, "no tables"));
  }
  aside.replaceChildren(...parts);
}

// ---------------------------------------------------------------------- runs

function renderRuns(runs) {
  const body = $("#runs-table tbody");
  body.replaceChildren(...runs.map((r) => {
    const tr = el("tr", { "data-run": r.run_id, "data-status": r.status });
    const c = r.counts;
    tr.append(
      el("td", { class: "num" }, r.run_id), el("td", {}, r.flow), el("td", { class: "status" }, r.status),
      el("td", {}, (r.started_at || "").replace("T", " ").slice(0, 19)), el("td", { class: "num" }, fmtSeconds(r.seconds)),
      el("td", { class: "num" }, c["ran"] ?? ""), el("td", { class: "num" }, c["cache-valid"] ?? ""),
      el("td", { class: "num" }, c["failed"] ?? ""), el("td", { class: "num" }, c["skipped"] ?? ""),
    );
    if (r.run_id === state.run) tr.classList.add("selected");
    tr.addEventListener("click", () => pickRun(r.run_id));
    return tr;
  }));
}

async function pickRun(runId) {
  state.run = runId;
  state.follow = false;
  $("#follow").checked = false;
  await refresh();
  if (state.tab === "runs") await showTimeline(runId);
}

async function showTimeline(runId) {
  const data = await getJson(`/api/timeline?run=${runId}`);
  $("#timeline-title").textContent = `Timeline of run ${runId} (${data.run.status})` + (data.estimated ? " · start times estimated" : "");
  const box = $("#timeline");
  if (!data.bars.length) { box.replaceChildren(el("p", { class: "hint" }, "This run recorded no tasks (yet).")); return; }
  const end = Math.max(...data.bars.map((b) => b.start + b.seconds), 1e-6);
  const label = 220, width = Math.max(420, box.clientWidth - 20 || 600), rowH = 18;
  const scale = (width - label - 60) / end;
  const svg = el("svg:svg", { width, height: data.bars.length * rowH + 24, id: "timeline-svg" });
  data.bars.forEach((b, i) => {
    const y = i * rowH + 2;
    const g = el("svg:g", { class: "bar-row" });
    g.append(el("svg:text", { x: 0, y: y + 12 }, b.id.length > 34 ? b.id.slice(0, 33) + "…" : b.id));
    g.append(el("svg:rect", { class: "bar", "data-task": b.id, "data-state": b.state, "data-start": b.start,
      "data-seconds": b.seconds, x: label + b.start * scale, y, height: rowH - 5, width: Math.max(2, b.seconds * scale) }));
    g.append(el("svg:text", { x: label + (b.start + b.seconds) * scale + 4, y: y + 12 }, `${fmtSeconds(b.seconds)} s`));
    g.append(el("svg:title", {}, `${b.id}: ${b.state}, starts at ${b.start.toFixed(3)} s, ${b.seconds.toFixed(3)} s`));
    svg.append(g);
  });
  const axisY = data.bars.length * rowH + 16;
  svg.append(el("svg:text", { x: label, y: axisY }, "0 s"), el("svg:text", { x: width - 60, y: axisY }, `${fmtSeconds(end)} s`));
  box.replaceChildren(svg);
}

// -------------------------------------------------------------------- tables

async function showTables() {
  const stages = await getJson("/api/tables");
  const list = $("#tables-list");
  const parts = stages.length ? [] : [el("p", { class: "hint" }, "No stage has been published yet.")];
  for (const s of stages) {
    parts.push(el("h4", {}, `${s.stage} (schema ${s.schema}, version ${s.version})`));
    for (const t of s.tables) {
      const item = el("div", { class: "table-item", "data-table": `${s.stage}.${t.name}` });
      item.append(el("strong", {}, t.name), document.createTextNode(` · ${t.rows ?? "?"} rows · task ${t.task}`));
      item.append(el("div", { class: "cols" }, t.columns.map(([n, ty]) => `${n} ${ty}`).join(", ")));
      item.addEventListener("click", () => { state.table = [s.stage, t.name]; state.offset = 0; showPreview(); });
      parts.push(item);
    }
  }
  parts.push(...renderBatches(await getJson("/api/batches")));
  list.replaceChildren(...parts);
  if (state.table) await showPreview();
}

function renderBatches(jobs) {
  if (!jobs.length) return [];
  const parts = [el("h3", {}, "Batch jobs")];
  for (const job of jobs) {
    parts.push(el("h4", {}, `${job.job} (${job.kind}, ${job.source}, position ${job.position ?? "none"})`));
    const table = el("table", { class: "grid batch", "data-job": job.job });
    const head = el("tr");
    ["range", "ids", "items", "status", "attempt", "worker", "error"].forEach((h) => head.append(el("th", {}, h)));
    table.append(head);
    for (const r of job.ranges) {
      const tr = el("tr", { "data-range": r.range_id, "data-status": r.status });
      tr.append(el("td", { class: "num" }, r.range_id), el("td", {}, `${r.id_min}–${r.id_max}`),
        el("td", { class: "num" }, r.count), el("td", {}, r.status), el("td", { class: "num" }, r.attempt),
        el("td", {}, r.worker ?? ""), el("td", {}, r.error ?? ""));
      table.append(tr);
    }
    parts.push(table);
  }
  return parts;
}

async function showPreview() {
  const [stage, name] = state.table;
  document.querySelectorAll(".table-item").forEach((i) => i.classList.toggle("selected", i.dataset.table === `${stage}.${name}`));
  const q = new URLSearchParams({ stage, table: name, offset: state.offset, limit: PAGE });
  const data = await getJson(`/api/preview?${q}`);
  const box = $("#preview");
  const last = Math.min(data.offset + data.rows.length, data.total ?? data.offset + data.rows.length);
  const pager = el("div", { class: "pager" });
  const prev = el("button", { id: "prev-page" }, "◀ previous");
  const next = el("button", { id: "next-page" }, "next ▶");
  prev.disabled = data.offset === 0;
  next.disabled = data.rows.length < data.limit || (data.total !== null && last >= data.total);
  prev.addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); showPreview(); });
  next.addEventListener("click", () => { state.offset += PAGE; showPreview(); });
  pager.append(el("strong", {}, `${stage}.${name}`), prev, next,
    el("span", { id: "page-info" }, `rows ${data.rows.length ? data.offset + 1 : 0}–${last} of ${data.total ?? "?"}`));
  const table = el("table", { class: "grid", id: "preview-table" });
  const head = el("tr");
  data.columns.forEach((c) => head.append(el("th", {}, c)));
  table.append(el("thead"), el("tbody"));
  table.tHead.append(head);
  for (const row of data.rows) {
    const tr = el("tr");
    row.forEach((v) => tr.append(el("td", { class: typeof v === "number" ? "num" : "" }, v === null ? "NULL" : v)));
    table.tBodies[0].append(tr);
  }
  box.replaceChildren(pager, table);
}

// ---------------------------------------------------------------- wiring up

function switchTab(tab) {
  state.tab = tab;
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
  for (const name of ["graph", "runs", "tables"]) $(`#view-${name}`).hidden = name !== tab;
  if (tab === "runs" && state.run !== null) showTimeline(state.run).catch(() => {});
  if (tab === "tables") showTables().catch(() => {});
}

async function poll() {
  try {
    const data = await getJson("/api/poll");
    if (data.token !== state.token) await refresh();
  } catch (err) { /* busy or server gone: the banner says so; try again */ }
  setTimeout(poll, 1000);
}

document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => switchTab(b.dataset.tab)));
$("#run-select").addEventListener("change", (e) => pickRun(Number(e.target.value)));
$("#follow").addEventListener("change", (e) => { state.follow = e.target.checked; refresh(); });
refresh().catch(() => {}).finally(() => setTimeout(poll, 1000));
