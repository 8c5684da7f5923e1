// The transfer panel: every upload and download of this tab, with progress, speed, and
// pause, resume and cancel buttons. It survives navigation between pages.

import { humanSize, humanSpeed } from "../format.js";
import { describe, h, replace } from "../ui.js";

const transfers = [];
let panel = null;
let list = null;
let summary = null;

const STATES = { queued: "Waiting", running: "", paused: "Paused", done: "Done", failed: "Failed", cancelled: "Cancelled" };

function row(t) {
  const progress = h("progress", { max: Math.max(1, t.total), value: Math.min(t.done, t.total), "aria-label": `${t.label} progress` });
  const state = t.state === "running"
    ? `${humanSize(t.done)} of ${humanSize(t.total)}${t.speed ? ` · ${humanSpeed(t.speed)}` : ""}`
    : t.state === "failed" ? `Failed: ${describe(t.error)}` : STATES[t.state];
  const buttons = [];
  if (t.state === "running") buttons.push(h("button", { type: "button", class: "button small", onclick: () => t.pause(), "aria-label": `Pause ${t.label}` }, "Pause"));
  if (t.state === "paused") buttons.push(h("button", { type: "button", class: "button small", onclick: () => t.resume(), "aria-label": `Resume ${t.label}` }, "Resume"));
  if (["running", "paused", "queued"].includes(t.state)) {
    buttons.push(h("button", { type: "button", class: "button small", onclick: () => t.cancel(), "aria-label": `Cancel ${t.label}` }, "Cancel"));
  } else {
    buttons.push(h("button", { type: "button", class: "button small", onclick: () => remove(t), "aria-label": `Clear ${t.label} from the list` }, "Clear"));
  }
  return h("li", { class: `transfer transfer-${t.state}`, dataset: { state: t.state, kind: t.kind, id: t.id } },
    h("div", { class: "transfer-line" },
      h("span", { class: "transfer-kind", "aria-hidden": "true" }, t.kind === "upload" ? "↑" : "↓"),
      h("span", { class: "transfer-label" }, t.label),
      h("span", { class: "transfer-buttons" }, buttons)),
    progress,
    h("p", { class: t.state === "failed" ? "transfer-state error" : "transfer-state" }, state));
}

let pending = false;
let wasActive = false;

function update() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    if (!panel || !panel.isConnected) return;
    panel.hidden = transfers.length === 0;
    const focused = list.contains(document.activeElement) ? document.activeElement.closest("li")?.dataset.id : null;
    replace(list, transfers.map(row));
    if (focused) list.querySelector(`li[data-id="${focused}"] button`)?.focus();
    const active = transfers.filter((t) => t.state === "running" || t.state === "paused").length;
    if (active && !wasActive) panel.open = true;
    else if (!active && wasActive && !panel.contains(document.activeElement)) panel.open = false;
    wasActive = active > 0;
    summary.textContent = active ? `Transfers (${active} in progress)` : "Transfers";
  });
}

function remove(t) {
  transfers.splice(transfers.indexOf(t), 1);
  update();
}

export function addTransfer(t) {
  transfers.unshift(t);
  t.listeners.add(update);
  update();
  return t;
}

export function transferPanel() {
  summary = h("summary", {}, "Transfers");
  list = h("ul", { class: "transfer-list" });
  const clear = h("button", { type: "button", class: "button small", onclick: () => {
    for (const t of [...transfers]) if (["done", "failed", "cancelled"].includes(t.state)) remove(t);
  } }, "Clear finished");
  // Open while something is moving; folded (out of the way) when everything has finished.
  const active = transfers.some((t) => ["running", "paused", "queued"].includes(t.state));
  panel = h("details", { class: "transfers", open: active, "aria-label": "Transfers" }, summary, h("div", { class: "transfers-body" }, clear, list));
  panel.hidden = transfers.length === 0;
  update();
  return h("aside", { class: "transfers-dock", "aria-label": "Transfers" }, panel);
}
