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

function renderPushes(pushes) {
  const box = $("pushes");
  if (!pushes.length) { box.replaceChildren(el("p", { class: "empty" }, "no pushes yet")); return; }
  box.replaceChildren(...pushes.map((p) => el("div", { class: "push" },
    el("div", {}, time(p.at) + " · " + p.pushKind + " " + p.priority + " → ",
      el("span", { class: "mono" }, p.clientId ? short(p.clientId) : p.deviceToken)),
    el("pre", {}, JSON.stringify(p.payload, null, 1)))));
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
  $("media-count").textContent = state.media.length;
  fillTable("media", state.media, [
    ["mono", (m) => short(m.sessionId)],
    ["mono", (m) => short(m.participantId)],
    ["", (m) => m.heartbeatsAnswered],
    ["", (m) => m.uplink || "perfect"],
    ["", (m) => m.downlink || "perfect"],
  ]);
  $("pushes-count").textContent = state.pushes.length;
  renderPushes(state.pushes);
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
}

start();
