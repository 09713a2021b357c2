// ActionStream console: plain JS, no build step. The page loads /api/state once, then follows /api/live
// (server-sent events): action events are added as they come, other changes reload the state.
"use strict";

const FEED_LIMIT = 100;
const CHART_REFRESH_MS = 15000;
const CHART_COLOURS = ["#1565c0", "#b3261e", "#1e7d32", "#c77c02", "#6a1b9a", "#00838f"];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function clock(epochSeconds) {
  return epochSeconds ? new Date(epochSeconds * 1000).toLocaleTimeString() : "-";
}

function percent(value) {
  return value === null || value === undefined ? "-" : (100 * value).toFixed(1) + "%";
}

// -- state: cameras, drift, model history ---------------------------------------------------------------
async function loadState() {
  const response = await fetch("/api/state");
  const state = await response.json();
  document.getElementById("sites").textContent = "sites: " + state.sites.join(", ");
  const banner = document.getElementById("kafka-error");
  banner.hidden = !state.kafka_error;
  banner.textContent = state.kafka_error || "";
  renderCameras(state.cameras.filter((camera) => camera.camera !== "*"));
  renderDrift(state.cameras);
  renderHistory(state.model_updates, state.retrain_results);
  if (!document.getElementById("feed").children.length) {
    for (const event of state.events) addEvent(event, false);
  }
}

function renderCameras(cameras) {
  const root = document.getElementById("cameras");
  root.replaceChildren();
  if (!cameras.length) {
    root.append(el("p", { class: "empty", text: "No camera has published yet." }));
    return;
  }
  for (const camera of cameras) {
    const thumbs = el("div", { class: "thumbs" });
    for (const thumb of camera.thumbnails) {
      thumbs.append(el("img", {
        src: `/thumbnails/${encodeURIComponent(camera.site)}/${encodeURIComponent(camera.camera)}/${thumb.seq}.jpg`,
        alt: `frame ${thumb.seq}`, title: `frame ${thumb.seq} at ${clock(thumb.capture_time)}, score ${thumb.score.toFixed(3)}`,
      }));
    }
    const last = camera.last_action;
    root.append(el("div", { class: "camera", "data-camera": camera.camera, "data-site": camera.site },
      el("h3", {}, el("span", { text: `${camera.site}/${camera.camera}` }),
        el("span", { class: `badge ${camera.state}`, text: camera.state })),
      el("p", { class: "reason", text: camera.reason }),
      // Status records come on changes only: their counts are as of the last change, hence "since".
      camera.status_at === null ? null : el("p", { class: "counts",
        text: `since ${clock(camera.status_at)}; reconnects ${camera.reconnects}, gaps ${camera.gaps}` }),
      thumbs,
      el("p", { class: "last", text: last ? `last: ${last.label} ${percent(last.confidence)} at ${clock(last.window_end)}`
                                        : "no action yet" })));
  }
}

function renderDrift(cameras) {
  const body = document.querySelector("#drift tbody");
  body.replaceChildren();
  let rows = 0;
  for (const camera of cameras) {
    for (const [kind, drift] of Object.entries(camera.drift)) {
      const links = el("td", {});
      for (const name of camera.reports) {
        links.append(el("a", { class: "report", href: `/reports/${encodeURIComponent(name)}`, target: "_blank",
                               text: name.replace(/\.html$/, "") }), " ");
      }
      body.append(el("tr", { "data-camera": camera.camera },
        el("td", { text: camera.camera === "*" ? `${camera.site} (site)` : `${camera.site}/${camera.camera}` }),
        el("td", { text: `${kind}: ${drift.reference}` }),
        el("td", {}, el("span", { class: `badge ${drift.verdict}`, text: drift.verdict })),
        el("td", { text: drift.causes.join(", ") || "-" }),
        el("td", { text: percent(drift.share_drifted) }),
        el("td", { text: percent(drift.estimated_accuracy) }),
        el("td", { text: percent(drift.observed_accuracy) }),
        el("td", { text: clock(drift.window_end) }),
        links));
      rows += 1;
    }
  }
  document.getElementById("drift-empty").hidden = rows > 0;
}

function renderHistory(updates, results) {
  const updateList = document.getElementById("updates");
  updateList.replaceChildren(...updates.slice().reverse().map((update) => el("li", {
    text: `${clock(update.at)} ${update.model} version ${update.version} -> @${update.alias}` })));
  const resultList = document.getElementById("results");
  resultList.replaceChildren(...results.slice().reverse().map((result) => el("li", {
    text: `${clock(result.finished_at)} ${result.site}: ${result.outcome} (candidate ${result.candidate_version || "-"},` +
          ` production ${result.production_version || "-"}) ${result.reasons.join("; ")}` })));
}

// -- live feed ------------------------------------------------------------------------------------------
function addEvent(event, fresh) {
  const feed = document.getElementById("feed");
  const item = el("li", { class: fresh ? "action fresh" : "action", "data-event": event.event_id },
    el("span", { class: "muted", text: clock(event.window_end) + " " }),
    el("span", { text: `${event.site}/${event.camera} ` }),
    el("span", { class: "label", text: event.label }),
    el("span", { text: ` ${percent(event.confidence)}` }),
    el("span", { class: "muted", text: ` ${event.latency_s.toFixed(2)} s` + (event.shed ? " shed" : "") }));
  feed.prepend(item);
  while (feed.children.length > FEED_LIMIT) feed.lastElementChild.remove();
  document.getElementById("feed-empty").hidden = true;
}

let reloadTimer = null;
function reloadSoon() {
  if (reloadTimer === null) reloadTimer = setTimeout(() => { reloadTimer = null; loadState(); }, 500);
}

function follow() {
  const connection = document.getElementById("connection");
  const source = new EventSource("/api/live");
  source.onopen = () => { connection.textContent = "live"; connection.className = "badge live"; };
  source.onerror = () => { connection.textContent = "reconnecting"; connection.className = "badge reconnecting"; };
  source.addEventListener("action", (message) => { addEvent(JSON.parse(message.data), true); reloadSoon(); });
  source.addEventListener("camera", reloadSoon);
  source.addEventListener("drift", reloadSoon);
  source.addEventListener("model", () => { reloadSoon(); loadModels(); });
}

// -- models and the one write action --------------------------------------------------------------------
async function loadModels() {
  const root = document.getElementById("models");
  const response = await fetch("/api/models");
  const models = await response.json();
  if (!response.ok) {
    root.replaceChildren(el("p", { class: "error", text: models.error }));
    return;
  }
  document.getElementById("admin").hidden = models.read_only;
  const list = el("ul", {});
  for (const version of models.versions.slice().reverse()) {
    const current = version === models.production;
    const item = el("li", { "data-version": version, text: `version ${version}` + (current ? ` (@${models.alias})` : "") });
    if (!current && !models.read_only) {
      const older = models.production !== null && Number(version) < Number(models.production);
      const button = el("button", { type: "button", text: older ? "roll back to this" : "promote" });
      button.addEventListener("click", () => promote(version));
      item.append(button);
    }
    list.append(item);
  }
  root.replaceChildren(el("div", {},
    el("p", { text: `${models.model} in production: ` + (models.production ? `version ${models.production}` : "none") }),
    models.read_only ? el("p", { class: "muted", text: "Read-only console: no admin token configured." }) : null,
    list));
}

async function promote(version) {
  const result = document.getElementById("promote-result");
  const token = document.getElementById("token").value;
  const response = await fetch("/api/models/promote", {
    method: "POST", headers: { "Content-Type": "application/json", "X-Admin-Token": token },
    body: JSON.stringify({ version: version }),
  });
  const body = await response.json();
  result.textContent = response.ok ? `version ${body.version} is now @${body.alias}` : body.error;
  result.className = response.ok ? "" : "error";
  loadModels();
}

// -- charts ---------------------------------------------------------------------------------------------
async function loadCharts() {
  const root = document.getElementById("charts");
  let body;
  let ok = false;
  try {
    const response = await fetch("/api/charts");
    body = await response.json();
    ok = response.ok;
  } catch (error) {
    body = { error: "the console is not reachable" };
  }
  if (!ok) {
    root.replaceChildren(el("p", { class: "error", text: body.error }));
    return;
  }
  root.replaceChildren(...body.charts.map(drawChart));
}

function drawChart(chart) {
  const canvas = el("canvas", { width: "600", height: "240" });
  const legend = el("div", { class: "legend" });
  const box = el("div", { class: "chart" }, el("h3", { text: `${chart.title} (${chart.unit})` }), canvas, legend);
  const points = chart.series.flatMap((series) => series.points);
  if (!points.length) {
    legend.textContent = "no data yet";
    return box;
  }
  const context = canvas.getContext("2d");
  const [width, height, pad] = [canvas.width, canvas.height, 30];
  const times = points.map((point) => point[0]);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const top = Math.max(...points.map((point) => point[1])) * 1.1 || 1;
  const x = (t) => pad + (width - 2 * pad) * (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5);
  const y = (v) => height - pad - (height - 2 * pad) * (v / top);
  context.strokeStyle = "#bbb";
  context.strokeRect(pad, pad, width - 2 * pad, height - 2 * pad);
  context.fillStyle = "#555";
  context.font = "12px sans-serif";
  context.fillText(top.toPrecision(3), 2, pad + 4);
  context.fillText(new Date(t0 * 1000).toLocaleTimeString(), pad, height - 8);
  chart.series.forEach((series, index) => {
    const colour = CHART_COLOURS[index % CHART_COLOURS.length];
    context.strokeStyle = colour;
    context.lineWidth = 2;
    context.beginPath();
    series.points.forEach(([t, v], i) => (i ? context.lineTo(x(t), y(v)) : context.moveTo(x(t), y(v))));
    context.stroke();
    context.fillStyle = colour;  // a dot per point: a series of one point draws no line
    series.points.forEach(([t, v]) => context.fillRect(x(t) - 2, y(v) - 2, 4, 4));
    legend.append(el("span", { style: `color: ${colour}`, text: `${series.name} ` }));
  });
  return box;
}

loadState();
follow();
loadModels();
loadCharts();
setInterval(loadCharts, CHART_REFRESH_MS);
