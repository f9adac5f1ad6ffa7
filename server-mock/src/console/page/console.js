// The console's script: reads /mock/stream (server-sent events) and renders each `state`
// document and `log` line. Plain DOM, no framework, no network beyond the mock itself.
// Every value comes from the mock already redacted; it is inserted as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_LOG_LINES = 500;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(child == null ? "" : String(child)));
  }
  return node;
}

const short = (id) => (id ? String(id).slice(0, 8) : "");
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "");
// With milliseconds: a call's steps are often within one second.
const preciseTime = (iso) => (iso ? new Date(iso).toISOString().slice(11, 23) : "");

function fillTable(id, rows, columns) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren(...(rows.length
    ? rows.map((r) => el("tr", {}, ...columns.map(([cls, f]) => el("td", { class: cls }, f(r)))))
    : [el("tr", {}, el("td", { class: "empty", colspan: String(columns.length) }, "none yet"))]));
}

function renderCalls(calls) {
  const box = $("calls");
  if (!calls.length) { box.replaceChildren(el("p", { class: "empty" }, "no calls yet")); return; }
  box.replaceChildren(...calls.map((c) => el("div", { class: "call", "data-session": c.sessionId },
    el("div", {},
      el("span", { class: "mono" }, short(c.caller)), " → ", el("span", { class: "mono" }, short(c.callee)), " · ",
      el("span", { class: "state " + c.state }, c.state),
      c.endReason ? el("span", { class: "end-reason" }, " · " + c.endReason) : "",
      " · started " + time(c.startedAt)),
    el("ol", {}, ...c.timeline.map((t) => el("li", {}, preciseTime(t.at) + "  " + t.what))))));
}

function renderRooms(rooms) {
  const box = $("rooms");
  if (!rooms.length) { box.replaceChildren(el("p", { class: "empty" }, "no rooms")); return; }
  box.replaceChildren(...rooms.map((r) => el("div", { class: "room", "data-room": r.roomId },
    el("div", {},
      el("span", { class: "mono" }, short(r.roomId)), " · seq " + r.seq + " · created " + time(r.createdAt),
      r.invites.length ? " · ringing " + r.invites.map((i) => short(i.callee)).join(", ") : ""),
    el("ul", {}, ...r.members.map((m) => el("li", {},
      el("span", { class: "mono" }, short(m.clientId)), " ", m.name || "",
      m.muted ? " · muted" : "", " · since " + time(m.joinedAt), " · " + m.via))),
    el("ol", {}, ...r.timeline.map((t) => el("li", {}, preciseTime(t.at) + "  " + t.what))))));
}

function renderPushes(pushes) {
  const box = $("pushes");
  if (!pushes.length) { box.replaceChildren(el("p", { class: "empty" }, "no pushes yet")); return; }
  box.replaceChildren(...pushes.map((p) => el("div", { class: "push" },
    el("div", {}, time(p.at) + " · " + p.pushKind + " " + p.priority + " → ",
      el("span", { class: "mono" }, p.clientId ? short(p.clientId) : p.deviceToken)),
    el("pre", {}, JSON.stringify(p.payload, null, 1)))));
}

// Media: one card per participant, with its link setting (editable) and live charts fed by
// the stream's `media` events (what the SFU sees, once a second during a call).
const HISTORY = 60;
const history = new Map(); // participantId -> { last, series: { name: [numbers] } }
const CHARTS = [
  ["fromKbps", "from it, kbit/s"],
  ["toKbps", "to it, kbit/s"],
  ["lossPct", "loss reported, %"],
  ["jitterMs", "jitter, ms"],
  ["rttMs", "round trip, ms"],
];

function renderMedia(media, profiles) {
  const box = $("media");
  const ids = media.map((m) => m.participantId);
  for (const id of [...history.keys()]) if (!ids.includes(id)) history.delete(id);
  if (!media.length) { box.replaceChildren(el("p", { class: "empty" }, "no media yet")); return; }
  box.replaceChildren(...media.map((m) => {
    const select = el("select", { "aria-label": "link profile" },
      ...["", ...profiles].map((p) => el("option", { value: p }, p || "(default)")));
    select.value = m.uplink && m.uplink === m.downlink ? m.uplink : "";
    select.addEventListener("change", () => setLink(m.participantId, select.value));
    return el("div", { class: "participant", "data-participant": m.participantId },
      el("div", { class: "head" },
        el("span", { class: "mono" }, "session " + short(m.sessionId)),
        el("span", { class: "mono" }, "participant " + short(m.participantId)),
        el("span", {}, m.heartbeatsAnswered + " heartbeats"),
        el("span", { class: "packets" }, ""),
        el("span", {}, "link up " + (m.uplink || "perfect") + ", down " + (m.downlink || "perfect")),
        el("label", {}, "set link ", select)),
      el("div", { class: "charts" }, ...CHARTS.map(([key, label]) => chart(m.participantId, key, label))));
  }));
}

async function setLink(participant, profile) {
  const body = { participant, profile: profile || "perfect" };
  const r = await fetch("/mock/link", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!r.ok) appendLog("[console] the link was not changed: " + (await r.text()));
}

function chart(id, key, label) {
  const values = history.get(id)?.series[key] || [];
  const last = values.length ? values[values.length - 1] : null;
  const max = Math.max(1, ...values);
  // The newest sample at the right edge; a minute of history across.
  const offset = HISTORY - values.length;
  const points = values.map((v, i) => `${((offset + i) / (HISTORY - 1)) * 100},${30 - (v / max) * 28}`).join(" ");
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 100 30");
  svg.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", points);
  svg.append(line);
  return el("div", { class: "chart", "data-chart": key },
    el("div", {}, label + " ", el("span", { class: "value" }, last == null ? "–" : last.toFixed(key === "lossPct" ? 1 : 0))), svg);
}

function onMedia(samples) {
  const now = performance.now();
  for (const s of samples) {
    const h = history.get(s.participantId) || { last: null, series: Object.fromEntries(CHARTS.map(([k]) => [k, []])) };
    const from = s.fromParticipant || {}, to = s.toParticipant || {};
    if (h.last) {
      const secs = (now - h.last.at) / 1000;
      push(h, "fromKbps", Math.max(0, ((from.bytes || 0) - h.last.fromBytes) * 8 / 1000 / secs));
      push(h, "toKbps", Math.max(0, ((to.bytes || 0) - h.last.toBytes) * 8 / 1000 / secs));
    }
    push(h, "lossPct", (to.fractionLost || 0) * 100);
    push(h, "jitterMs", from.jitterMs || 0);
    push(h, "rttMs", to.rttMs || s.iceRttMs || 0);
    h.last = { at: now, fromBytes: from.bytes || 0, toBytes: to.bytes || 0 };
    history.set(s.participantId, h);
    const card = document.querySelector(`[data-participant="${s.participantId}"]`);
    if (!card) continue;
    card.querySelector(".packets").textContent =
      `packets from it ${from.packets ?? 0} (lost ${from.lost ?? 0}), to it ${to.packets ?? 0}`;
    card.querySelector(".charts").replaceChildren(...CHARTS.map(([key, label]) => chart(s.participantId, key, label)));
  }
}

function push(h, key, v) {
  const series = h.series[key];
  series.push(v);
  if (series.length > HISTORY) series.shift();
}

function render(state) {
  $("profile").textContent = state.profile + " profile";
  $("realtime").textContent = state.realtimeConnections + " real-time connection" + (state.realtimeConnections === 1 ? "" : "s");
  $("devices-count").textContent = state.devices.length;
  fillTable("devices", state.devices, [
    ["mono", (d) => d.clientId],
    ["", (d) => d.name || ""],
    ["", (d) => d.pushKind],
    ["mono", (d) => d.deviceToken],
    ["", (d) => time(d.registeredAt)],
    ["", (d) => d.features.join(", ")],
    ["mono", (d) => short(d.sessionId)],
  ]);
  const persons = state.persons.filter((p) => !p.deleted);
  $("persons-count").textContent = persons.length;
  fillTable("persons", persons, [
    ["", (p) => p.firstName + " " + p.lastName],
    ["mono", (p) => short(p.clientId)],
    ["", (p) => p.version],
  ]);
  $("calls-count").textContent = state.calls.length;
  renderCalls(state.calls);
  $("rooms-count").textContent = state.rooms.length;
  renderRooms(state.rooms);
  $("media-count").textContent = state.media.length;
  renderMedia(state.media, state.linkProfiles);
  $("pushes-count").textContent = state.pushes.length;
  renderPushes(state.pushes);
  window.dispatchEvent(new CustomEvent("dialtone-state", { detail: state }));
  document.body.dataset.ready = "true";
}

function appendLog(line) {
  const log = $("log");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(line + "\n");
  while (log.childNodes.length > MAX_LOG_LINES) log.firstChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

async function start() {
  try {
    const recent = await (await fetch("/mock/log")).json();
    recent.lines.forEach(appendLog);
  } catch (e) {
    appendLog("[console] could not read the log: " + e);
  }
  // EventSource reconnects by itself after the mock restarts.
  const source = new EventSource("/mock/stream");
  source.addEventListener("open", () => { $("connection").textContent = "live"; $("connection").className = "tag on"; });
  source.addEventListener("error", () => { $("connection").textContent = "reconnecting…"; $("connection").className = "tag off"; });
  source.addEventListener("state", (e) => render(JSON.parse(e.data)));
  source.addEventListener("log", (e) => appendLog(e.data));
  source.addEventListener("media", (e) => onMedia(JSON.parse(e.data)));
}

start();
