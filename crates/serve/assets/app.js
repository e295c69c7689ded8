// pixelcnn serve: draws each page from the server's JSON and redraws it when the store changes.
// Every user string reaches the page as text (textContent, never innerHTML); charts are uPlot's.
"use strict";

const app = document.getElementById("app");
const PAGE = app.dataset.page;
const ARG = app.dataset.arg;
const POLL_MS = 1000;
const MAX_CURVES = 40;
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];

// ---- building blocks ------------------------------------------------------------------------

/** An element with attributes and children; strings become text nodes. */
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child == null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function section(id, title) {
  let node = document.getElementById(id);
  if (!node) {
    node = el("section", { id }, el("h2", {}, title));
    app.append(node);
  }
  while (node.children.length > 1) node.lastChild.remove();
  return node;
}

const enc = encodeURIComponent;
const short = (id) => id.slice(0, 8);
const runLink = (id) => el("a", { href: `/runs/${enc(id)}`, class: "run" }, short(id));
const num = (v, digits = 4) => (v == null || Number.isNaN(v) ? "–" : Number(v).toFixed(digits));
const text = (v) => (v == null ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v));

async function get(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function showError(error) {
  const box = section("error", "Error");
  box.append(el("p", { class: "message" }, error.message || String(error)));
}

/** Polls the change stamp and calls `draw` (once at once, then on every change). */
function live(stampUrl, draw) {
  let last = null;
  const badge = document.getElementById("live");
  const tick = async () => {
    try {
      const { stamp } = await get(stampUrl);
      if (stamp !== last) {
        last = stamp;
        await draw();
        badge.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
      }
      badge.classList.remove("offline");
    } catch (error) {
      badge.textContent = `offline: ${error.message}`;
      badge.classList.add("offline");
    }
    setTimeout(tick, POLL_MS);
  };
  tick();
}

/**
 * A sortable table. `columns`: [{key, label, value(row), cell(row)?}]; `state.sort` {key, desc}
 * survives redraws; clicking a header sorts by it (again: reverses).
 */
function table(columns, rows, state, redraw, rowAttrs) {
  const sorted = rows.slice();
  const column = columns.find((c) => c.key === state.sort?.key);
  if (column) {
    sorted.sort((a, b) => {
      const x = column.value(a), y = column.value(b);
      if (x == null && y == null) return 0;
      if (x == null) return 1; // missing values last, either way
      if (y == null) return -1;
      const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
      return state.sort.desc ? -order : order;
    });
  }
  const head = el("tr", {}, columns.map((c) => el("th", {
    "data-key": c.key,
    class: c.sortable === false ? null : "sortable",
    "aria-sort": state.sort?.key === c.key ? (state.sort.desc ? "descending" : "ascending") : null,
    onclick: c.sortable === false ? null : () => {
      state.sort = { key: c.key, desc: state.sort?.key === c.key ? !state.sort.desc : false };
      redraw();
    },
  }, c.label, state.sort?.key === c.key ? (state.sort.desc ? " ▼" : " ▲") : "")));
  const body = sorted.map((row) => el("tr", rowAttrs ? rowAttrs(row) : {},
    columns.map((c) => el("td", {}, c.cell ? c.cell(row) : text(c.value(row))))));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

/**
 * Tick labels that tell every tick apart: the fewest significant digits at which no two read the
 * same (a learning rate decaying from 1e-3 to 0.9995e-3 needs four; uPlot's own formatting, three
 * decimals, labels every tick "0.001"). They are also kept on the figure (data-y-ticks) for tests.
 */
function distinctTicks(holder) {
  return (u, splits) => {
    let labels = splits.map(String);
    for (let digits = 1; digits <= 10; digits++) {
      const tried = splits.map((v) => (v == null ? "" : String(Number(v.toPrecision(digits)))));
      if (new Set(tried).size === tried.length) {
        labels = tried;
        break;
      }
    }
    holder.dataset.yTicks = labels.join("|");
    return labels;
  };
}

/** A y axis wide enough for its longest tick label (12 px digits are about 7 px wide). */
function labelWidth(u, values) {
  const longest = values ? Math.max(0, ...values.map((v) => String(v ?? "").length)) : 0;
  return Math.max(50, 16 + 7 * longest);
}

/** Whether the values span a decade or more: only then is a log axis more than one or two ticks. */
function spansDecades(curves) {
  const ys = curves.flatMap((c) => c.y).filter((v) => v != null && v > 0);
  return ys.length > 0 && Math.max(...ys) >= 10 * Math.min(...ys);
}

/** A uPlot chart of one metric for several curves ({label, x[], y[]}), x aligned by uPlot.join. */
function chart(title, curves, { log = false, xLabel = "epoch", xNames = null } = {}) {
  const holder = el("figure", { class: "chart", "data-title": title }, el("figcaption", {}, title));
  const usable = curves.filter((c) => c.x.length > 0);
  if (usable.length === 0) {
    holder.append(el("p", { class: "empty" }, "no epochs yet"));
    return holder;
  }
  const data = uPlot.join(usable.map((c) => [c.x, c.y.map((v) => (v == null ? null : v))]));
  const series = [{ label: xLabel }].concat(usable.map((c, i) => ({
    label: c.label, stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true,
    points: { show: c.x.length < 30 },
  })));
  const opts = {
    width: 560, height: 260, series,
    // Room on the right for the last named axis's label.
    padding: [12, xNames ? 48 : 16, 0, 0],
    scales: { x: { time: false }, y: log && spansDecades(usable) ? { distr: 3 } : {} },
    // Epochs are whole numbers; named axes (parallel coordinates) are ticked at each name.
    axes: [xNames
      ? { label: xLabel, splits: () => xNames.map((_, i) => i), values: (u, splits) => splits.map((i) => xNames[i] ?? "") }
      : { label: xLabel, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, { size: labelWidth, values: distinctTicks(holder) }],
    legend: { live: true },
  };
  const plot = new uPlot(opts, data, holder);
  holder.dataset.points = String(usable.reduce((n, c) => n + c.x.length, 0));
  holder.dataset.series = String(plot.series.length - 1);
  return holder;
}

/** Charts of the learning curves of `runs` ({label, curve}). */
function learningCurves(node, runs) {
  const metrics = [
    ["test_bits_per_dim", "Test bits/dim"], ["test_nll", "Test NLL (nats/pixel)"],
    ["train_nll", "Train NLL (nats/pixel)"], ["validation_nll", "Validation NLL (nats/pixel)"],
    ["lr", "Learning rate"],
  ];
  const grid = el("div", { class: "charts" });
  for (const [key, title] of metrics) {
    const curves = runs.map((r) => ({ label: r.label, x: r.curve.epoch, y: r.curve[key] }))
      .filter((c) => c.y.some((v) => v != null));
    if (curves.length > 0 || key === "test_bits_per_dim") grid.append(chart(title, curves, { log: key === "lr" }));
  }
  node.append(grid);
}

function picture(p, caption) {
  if (!p) return el("p", { class: "empty" }, `no ${caption} yet`);
  return el("figure", { class: "picture" },
    // Pictures are a few pixels per digit: shown twice their size, unsmoothed.
    el("img", { src: `/pictures/${enc(p.id)}`, alt: `${caption}, epoch ${p.epoch}`,
      onload: (e) => { e.target.style.width = `${e.target.naturalWidth * 2}px`; } }),
    el("figcaption", {}, `${caption}, epoch ${p.epoch}`));
}

// ---- filters --------------------------------------------------------------------------------

const PREDICATE = /^\s*([\w.\-]+)\s*(<=|>=|!=|=|<|>)\s*(.*?)\s*$/;

/** `key op value` (as `pixelcnn runs --where`): a test on a row, or an Error saying why not. */
function predicate(source) {
  const m = PREDICATE.exec(source);
  if (!m) throw new Error(`not KEY=VALUE, KEY<VALUE, ...: ${source}`);
  const [, key, op, raw] = m;
  const wanted = raw === "" || Number.isNaN(Number(raw)) ? raw.replace(/^"(.*)"$/, "$1") : Number(raw);
  return (row) => {
    let found = key in row ? row[key] : key in row.swept ? row.swept[key] : row.config[key];
    if (found == null) return false;
    if (typeof wanted === "number") found = Number(found);
    else found = typeof found === "string" ? found : JSON.stringify(found);
    switch (op) {
      case "=": return found === wanted;
      case "!=": return found !== wanted;
      case "<": return found < wanted;
      case "<=": return found <= wanted;
      case ">": return found > wanted;
      default: return found >= wanted;
    }
  };
}

// ---- pages ----------------------------------------------------------------------------------

async function experimentsPage() {
  const state = { sort: { key: "last_activity", desc: true } };
  let data = { experiments: [] };
  const draw = () => {
    const node = section("experiments", "Experiments");
    if (data.experiments.length === 0) {
      node.append(el("p", { class: "empty" }, "No experiments in this store yet: run `just sweep FILE`."));
      return;
    }
    node.append(table([
      { key: "name", label: "experiment", value: (e) => e.name,
        cell: (e) => el("a", { href: `/experiments/${enc(e.name)}`, class: "experiment" }, e.name) },
      { key: "description", label: "description", value: (e) => e.description },
      { key: "runs", label: "runs", value: (e) => e.runs },
      { key: "by_status", label: "by status", sortable: false, value: (e) =>
        Object.entries(e.by_status).map(([s, n]) => `${n} ${s}`).join(", ") },
      { key: "last_activity", label: "last activity", value: (e) => e.last_activity },
      { key: "best_test_bits_per_dim", label: "best test bits/dim (last epoch)",
        value: (e) => e.best_test_bits_per_dim, cell: (e) => num(e.best_test_bits_per_dim) },
      { key: "report", label: "", sortable: false, value: () => null,
        cell: (e) => el("a", { href: `/experiments/${enc(e.name)}/report` }, "static report") },
    ], data.experiments, state, draw, (e) => ({ "data-experiment": e.name })));
  };
  live("/api/stamp", async () => { data = await get("/api/experiments"); draw(); });
}

async function experimentPage() {
  const name = ARG;
  const state = { sort: { key: "created_at", desc: false }, status: "", tag: "", where: "", selected: new Set() };
  let data = null, generation = 0;
  // Curves are fetched for the runs the charts draw (the first MAX_CURVES of the table), again
  // when those change or the store does; `wanted` is the latest request, so a slow answer to an
  // older one is dropped.
  let curveKey = null, wanted = null, curveRuns = new Map();

  const controls = el("form", { id: "filters", class: "filters", onsubmit: (e) => e.preventDefault() });
  app.append(el("p", {}, el("a", { href: `/experiments/${enc(name)}/report` }, "Static report"),
    " (the page `pixelcnn report` writes, made now)"), controls);
  // The sections in page order; each draw refills its own.
  for (const [id, title] of [["runs", "Runs"], ["curves", "Learning curves"],
    ["parallel", "Swept keys against final test bits/dim"], ["configurations", "Configurations: newest pictures"],
    ["rungs", "Rung decisions"]]) section(id, title);

  const visible = () => {
    let test = () => true;
    const message = document.getElementById("where-error");
    message.textContent = "";
    if (state.where.trim()) {
      try {
        const tests = state.where.split(/\s*(?:,|\band\b)\s*/).filter(Boolean).map(predicate);
        test = (row) => tests.every((t) => t(row));
      } catch (error) {
        message.textContent = error.message;
      }
    }
    return data.runs.filter((r) => (!state.status || r.status === state.status)
      && (!state.tag || r.tags.includes(state.tag)) && test(r));
  };

  const drawControls = () => {
    const statuses = [...new Set(data.runs.map((r) => r.status))].sort();
    const tags = [...new Set(data.runs.flatMap((r) => r.tags))].sort();
    controls.replaceChildren(
      el("label", {}, "status ", el("select", { id: "status-filter", onchange: (e) => { state.status = e.target.value; draw(); } },
        el("option", { value: "" }, "any"), statuses.map((s) => el("option", { value: s, selected: s === state.status }, s)))),
      el("label", {}, "tag ", el("select", { id: "tag-filter", onchange: (e) => { state.tag = e.target.value; draw(); } },
        el("option", { value: "" }, "any"), tags.map((t) => el("option", { value: t, selected: t === state.tag }, t)))),
      el("label", {}, "where ", el("input", { id: "where-filter", type: "search", size: 40, value: state.where,
        placeholder: "model.levels=256, test_bits_per_dim<0.15",
        oninput: (e) => { state.where = e.target.value; drawRuns(); },
        onchange: (e) => { state.where = e.target.value; drawRuns(); } })),
      el("span", { id: "where-error", class: "message" }),
      el("button", { id: "compare-selected", type: "button", onclick: () => {
        const ids = [...state.selected];
        if (ids.length >= 2) location.href = `/compare?runs=${ids.map(enc).join(",")}`;
      } }, "Compare selected"),
      el("span", { id: "selected-count" }, ` ${state.selected.size} selected`),
    );
  };

  const drawRuns = () => {
    const rows = visible();
    const keys = data.keys;
    const select = (r) => el("input", { type: "checkbox", class: "select", checked: state.selected.has(r.id),
      onchange: (e) => {
        if (e.target.checked) state.selected.add(r.id); else state.selected.delete(r.id);
        document.getElementById("selected-count").textContent = ` ${state.selected.size} selected`;
      } });
    const columns = [
      { key: "select", label: "", sortable: false, value: () => null, cell: select },
      { key: "id", label: "run", value: (r) => r.id, cell: (r) => runLink(r.id) },
      { key: "status", label: "status", value: (r) => r.status,
        cell: (r) => el("span", { class: `status ${r.status}` }, r.status) },
      { key: "configuration", label: "configuration", value: (r) => r.configuration,
        cell: (r) => `${r.configuration}: ${r.configuration_label}` },
      ...keys.map((k) => ({ key: `swept.${k}`, label: k, value: (r) => r.swept[k] ?? null })),
      { key: "profile", label: "profile", value: (r) => r.profile },
      { key: "tags", label: "tags", value: (r) => r.tags.join(" ") || null },
      { key: "note", label: "note", value: (r) => r.note },
      { key: "epoch", label: "epochs", value: (r) => r.epoch, cell: (r) => `${r.epoch ?? 0}/${r.epochs_target}` },
      { key: "test_bits_per_dim", label: "test bits/dim", value: (r) => r.test_bits_per_dim,
        cell: (r) => num(r.test_bits_per_dim) },
      { key: "best_test_bits_per_dim", label: "best", value: (r) => r.best_test_bits_per_dim,
        cell: (r) => num(r.best_test_bits_per_dim) },
      { key: "validation_nll", label: "val NLL", value: (r) => r.validation_nll, cell: (r) => num(r.validation_nll) },
      { key: "images_per_second", label: "images/s", value: (r) => r.images_per_second,
        cell: (r) => num(r.images_per_second, 1) },
      { key: "device", label: "device", value: (r) => r.device },
      { key: "slurm", label: "Slurm task", value: (r) => r.slurm },
      { key: "created_at", label: "created", value: (r) => r.created_at },
    ];
    const node = section("runs", `Runs (${rows.length} of ${data.runs.length})`);
    node.querySelector("h2").textContent = `Runs (${rows.length} of ${data.runs.length})`;
    node.append(table(columns, rows, state, drawRuns, (r) => ({ "data-run": r.id, "data-status": r.status })));
    drawParallel(rows);
    drawCurves(rows).catch(showError);
  };

  const drawCurves = async (rows) => {
    const shown = rows.slice(0, MAX_CURVES);
    const ids = shown.map((r) => r.id);
    const key = `${generation}:${ids.join(",")}`;
    if (key !== curveKey) {
      wanted = key;
      const got = ids.length ? await get(`/api/experiments/${enc(name)}/curves?runs=${ids.map(enc).join(",")}`) : { runs: [] };
      if (wanted !== key) return;
      curveKey = key;
      curveRuns = new Map(got.runs.map((c) => [c.id, c]));
    }
    const node = section("curves", "Learning curves");
    if (rows.length > MAX_CURVES) {
      node.append(el("p", {}, `The first ${MAX_CURVES} of ${rows.length} runs shown: filter or sort the table to choose.`));
    }
    node.append(el("p", { class: "hint" }, "Hover for values; click a legend entry to hide or show its line."));
    learningCurves(node, shown.filter((r) => curveRuns.has(r.id))
      .map((r) => ({ label: `${short(r.id)} · ${r.configuration_label}`, curve: curveRuns.get(r.id) })));
  };

  const drawParallel = (rows) => {
    const node = section("parallel", "Swept keys against final test bits/dim");
    const keys = data.keys.filter((k) => k !== "seed");
    const finished = rows.filter((r) => r.test_bits_per_dim != null);
    if (keys.length === 0 || finished.length === 0) {
      node.append(el("p", { class: "empty" }, "needs swept keys and runs with a test epoch"));
      return;
    }
    // Each axis scaled to [0, 1]: numbers by value, anything else by its rank among the values.
    const axes = keys.map((k) => ({ label: k, get: (r) => r.swept[k] }))
      .concat([{ label: "test bits/dim", get: (r) => r.test_bits_per_dim }]);
    const scaled = axes.map((axis) => {
      const values = finished.map(axis.get);
      const numeric = values.every((v) => typeof v === "number");
      const domain = numeric ? values : [...new Set(values.map(text))].sort();
      const position = (v) => (numeric ? v : domain.indexOf(text(v)));
      const all = values.map(position);
      const lo = Math.min(...all), hi = Math.max(...all);
      return { ...axis, scale: (r) => (hi === lo ? 0.5 : (position(axis.get(r)) - lo) / (hi - lo)) };
    });
    const x = scaled.map((_, i) => i);
    const curvesOf = finished.slice(0, MAX_CURVES).map((r) => ({
      label: `${short(r.id)} · ${num(r.test_bits_per_dim)}`, x, y: scaled.map((a) => a.scale(r)) }));
    const holder = chart("Parallel coordinates (each axis scaled to its range)", curvesOf,
      { xLabel: "key", xNames: scaled.map((a) => a.label) });
    node.append(holder);
  };

  const drawConfigurations = () => {
    const node = section("configurations", "Configurations: newest pictures");
    node.append(el("p", { class: "hint" }, "Runs are grouped by their configuration's identity without the seed, as in the report."));
    for (const c of data.configurations) {
      node.append(el("div", { class: "configuration", "data-configuration": c.number },
        el("h3", {}, `${c.number}: ${c.label}`,
          el("label", { class: "pick" }, el("input", { type: "checkbox", onchange: (e) => {
            for (const id of c.runs) { if (e.target.checked) state.selected.add(id); else state.selected.delete(id); }
            drawRuns();
            document.getElementById("selected-count").textContent = ` ${state.selected.size} selected`;
          } }), ` select its ${c.runs.length} run(s)`)),
        el("div", { class: "pictures" }, picture(c.samples, "samples"), picture(c.completion, "completions"))));
    }
  };

  const drawRungs = () => {
    const node = section("rungs", "Rung decisions");
    if (data.rungs.length === 0) {
      node.append(el("p", { class: "empty" }, "no adaptive search in this experiment"));
      return;
    }
    const rungState = state.rungs || (state.rungs = { sort: null });
    node.append(table([
      { key: "run_id", label: "run", value: (d) => d.run_id, cell: (d) => runLink(d.run_id) },
      { key: "rung", label: "rung", value: (d) => d.rung },
      { key: "epoch", label: "epoch", value: (d) => d.epoch },
      { key: "metric", label: "metric", value: (d) => d.metric },
      { key: "value", label: "value", value: (d) => d.value, cell: (d) => num(d.value) },
      { key: "ranking", label: "ranking", sortable: false, value: (d) => d.ranking },
      { key: "decided_at", label: "decided", value: (d) => d.decided_at },
    ], data.rungs, rungState, drawRungs));
  };

  const draw = () => { drawControls(); drawRuns(); drawConfigurations(); drawRungs(); };

  live(`/api/stamp?experiment=${enc(name)}`, async () => {
    data = await get(`/api/experiments/${enc(name)}`);
    generation += 1;
    draw();
  });
}

async function runPage() {
  const id = ARG;
  const state = { sort: { key: "epoch", desc: false } };
  const drawEpochs = (data) => {
    const epochs = section("epochs", "Every epoch");
    const metric = (key, digits = 4) => ({ key, label: key.replaceAll("_", " "), value: (e) => e[key], cell: (e) => num(e[key], digits) });
    epochs.append(table([
      { key: "epoch", label: "epoch", value: (e) => e.epoch }, { key: "step", label: "step", value: (e) => e.step },
      metric("train_nll"), metric("validation_nll"), metric("test_nll"), metric("test_bits_per_dim"),
      metric("test_nats_per_image", 2), { key: "lr", label: "lr", value: (e) => e.lr, cell: (e) => Number(e.lr).toExponential(3) },
      metric("seconds", 1), metric("images_per_second", 1),
    ], data.epochs, state, () => drawEpochs(data), (e) => ({ "data-epoch": e.epoch })));
  };
  live(`/api/stamp?run=${enc(id)}`, async () => {
    const data = await get(`/api/runs/${enc(id)}`);
    const r = data.run;
    const age = (t) => (t ? `${Math.round((Date.parse(data.now) - Date.parse(t)) / 1000)} s ago` : "–");
    const facts = [
      ["experiment", el("a", { href: `/experiments/${enc(r.experiment)}` }, r.experiment)],
      ["status", el("span", { id: "run-status", class: `status ${r.status}` }, r.status)],
      ["epochs", `${r.last_epoch ?? 0} of ${r.epochs_target}`],
      ["last test bits/dim", num(r.last_test_bits_per_dim)],
      ["best test bits/dim", num(data.best_test_bits_per_dim)],
      ["profile", text(data.profile)],
      ["tags", r.tags.join(" ") || "–"],
      ["note", text(r.note)],
      ["device", text(r.device)],
      ["threads", text(r.threads)],
      ["worker", r.worker_host ? `${r.worker_host} pid ${r.worker_pid}` : "–"],
      ["Slurm task", r.slurm ? (r.slurm.array_job_id ? `${r.slurm.array_job_id}_${r.slurm.array_task_id}` : r.slurm.job_id) : "–"],
      ["heartbeat", `${text(r.heartbeat_at)} (${age(r.heartbeat_at)})`],
      ["lease", r.status === "running" ? `held, last renewed ${age(r.heartbeat_at)}` : "none"],
      ["created / started / ended", `${text(r.created_at)} / ${text(r.started_at)} / ${text(r.ended_at)}`],
      ["rerun of", r.rerun_of ? runLink(r.rerun_of) : "–"],
      ["git", `${text(r.git_commit)}${r.git_dirty ? " (dirty)" : ""}`],
      ["error", el("span", { class: r.error ? "message" : null }, text(r.error))],
    ];
    section("summary", "Summary").append(el("dl", {}, facts.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
    const curves = section("curves", "Learning curves");
    learningCurves(curves, [{ label: short(r.id), curve: data.curve }]);
    const pictures = section("pictures", "Pictures over epochs");
    if (data.pictures.length === 0) pictures.append(el("p", { class: "empty" }, "none yet"));
    for (const kind of ["samples", "completion"]) {
      const mine = data.pictures.filter((p) => p.kind === kind);
      if (mine.length) pictures.append(el("h3", {}, kind), el("div", { class: "pictures" }, mine.map((p) => picture(p, kind))));
    }
    drawEpochs(data);
    const rungs = section("rungs", "Rung decisions");
    if (data.rungs.length === 0) rungs.append(el("p", { class: "empty" }, "none"));
    for (const d of data.rungs) rungs.append(el("p", {}, `rung ${d.rung} at epoch ${d.epoch}: ${d.metric} ${num(d.value)} → ${text(d.ranking)}`));
    const verdicts = section("verdicts", "Rerun verdicts");
    if (data.verdicts.length === 0) verdicts.append(el("p", { class: "empty" }, "none"));
    for (const v of data.verdicts) verdicts.append(el("p", {}, runLink(v.run), " against ", runLink(v.original), `: ${v.summary}`));
    const files = section("files", "Files");
    files.append(el("ul", {}, data.files.map((f) => el("li", {}, `${f.kind} epoch ${f.epoch}: ${f.name}${f.deleted ? " (deleted)" : ""}`))));
    section("configuration", "Configuration").append(el("pre", {}, r.config_toml));
    section("environment", "Environment").append(el("pre", {}, JSON.stringify(r.versions, null, 2)));
  });
}

async function comparePage() {
  const ids = ARG.split(",").filter(Boolean);
  const stampUrl = "/api/stamp";
  live(stampUrl, async () => {
    let data;
    try {
      data = await get(`/api/compare?runs=${ids.map(enc).join(",")}`);
    } catch (error) {
      showError(error);
      return;
    }
    const letters = data.runs.map((_, i) => String.fromCharCode(65 + i));
    const finals = section("finals", "Final metrics");
    const metrics = [["status", (r) => r.status], ["epochs", (r) => `${r.epoch ?? 0}/${r.epochs_target}`],
      ["test bits/dim", (r) => num(r.test_bits_per_dim)], ["best test bits/dim", (r) => num(r.best_test_bits_per_dim)],
      ["test NLL", (r) => num(r.test_nll)], ["train NLL", (r) => num(r.train_nll)],
      ["validation NLL", (r) => num(r.validation_nll)], ["test nats/image", (r) => num(r.test_nats_per_image, 2)],
      ["images/s", (r) => num(r.images_per_second, 1)]];
    finals.append(el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, ""),
      data.runs.map((r, i) => el("th", {}, `${letters[i]} `, runLink(r.id))))),
      el("tbody", {}, metrics.map(([label, f]) => el("tr", {}, el("th", {}, label), data.runs.map((r) => el("td", {}, f(r))))))));
    const diff = section("diff", "Configuration keys that differ");
    if (data.differing.length === 0) diff.append(el("p", {}, "The configurations are identical."));
    else diff.append(el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "key"), letters.map((l) => el("th", {}, l)))),
      el("tbody", {}, data.differing.map((d) => el("tr", {}, el("td", {}, d.key), d.values.map((v) => el("td", {}, text(v))))))));
    const curves = section("curves", "Curves");
    learningCurves(curves, data.runs.map((r, i) => ({ label: `${letters[i]} ${short(r.id)}`, curve: r.curve })));
  });
}

const PAGES = { experiments: experimentsPage, experiment: experimentPage, run: runPage, compare: comparePage };
if (PAGES[PAGE]) PAGES[PAGE]().catch(showError);
