// Small DOM helpers: elements, announcements for screen readers, notices, dialogs, menus.
// Nothing here sets innerHTML: every name shown comes from decrypted data and is set as text.

import { ApiError, CoffreError } from "../errors.js";

/** h("button", {class: "x", onclick: fn}, "text", child...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A decorative icon from static/icons/ (hidden from screen readers). */
export function iconImg(name, className = "icon") {
  const img = document.createElement("img");
  img.src = `/web/icons/${name}.svg`;
  img.alt = "";
  img.className = className;
  img.setAttribute("aria-hidden", "true");
  return img;
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Say `message` to screen readers (politely). */
export function announce(message) {
  const el = document.getElementById("announcer");
  el.textContent = "";
  setTimeout(() => { el.textContent = message; }, 50);
}

/** What an error means, for the person reading it. */
export function describe(error) {
  if (error instanceof ApiError) {
    switch (error.code) {
      case "invalid_credentials": return "Wrong email or password.";
      case "too_many_attempts": {
        const minutes = error.retryAfter ? Math.ceil(error.retryAfter / 60) : null;
        return `Too many failed attempts. Try again ${minutes ? `in ${minutes} minute${minutes > 1 ? "s" : ""}` : "later"}.`;
      }
      case "quota_exceeded": return "Not enough storage space: this would go over your storage quota.";
      case "email_taken": return "An account with this email already exists. Log in instead.";
      case "name_taken": return "Something with this name is already in that folder.";
      case "invalid_session": return "Your session has ended. Log in again.";
      case "cycle": return "A folder cannot be moved inside itself.";
      case "last_version": return "This is the file's only version: move the file to the rubbish bin instead.";
      case "parent_in_rubbish": return "Its folder is in the rubbish bin too: restore that folder first.";
      case "too_large": return "That is too large for the server to accept.";
      default: return error.message.charAt(0).toUpperCase() + error.message.slice(1);
    }
  }
  if (error instanceof CoffreError) {
    if (error.code === "integrity") {
      return "Integrity check failed: the data was changed on the server or is not yours. Nothing was decrypted or saved.";
    }
    return error.message.charAt(0).toUpperCase() + error.message.slice(1);
  }
  return `Something went wrong: ${error && error.message ? error.message : error}`;
}

/** A notice at the top of the page; errors are announced assertively. */
export function notify(message, { kind = "info", timeout = kind === "error" ? 0 : 6000 } = {}) {
  const area = document.getElementById("notices");
  if (!area) return;
  const close = h("button", { type: "button", class: "icon-button", "aria-label": "Dismiss" }, "✕");
  const note = h("div", { class: `notice notice-${kind}`, dataset: { kind } }, h("p", {}, message), close);
  close.addEventListener("click", () => note.remove());
  area.append(note);
  if (kind === "error") {
    const alerts = document.getElementById("alerts");
    alerts.textContent = "";
    setTimeout(() => { alerts.textContent = message; }, 50);
  } else {
    announce(message);
  }
  if (timeout) setTimeout(() => note.remove(), timeout);
  return note;
}

export function notifyError(error) {
  console.error(error);
  return notify(describe(error), { kind: "error" });
}

// -- dialogs (native <dialog>: focus stays inside, Escape closes, focus returns) ----------------

export function dialog(title, body, actions, { wide = false, onClose = null } = {}) {
  const opener = document.activeElement;
  const titleId = `dialog-${crypto.randomUUID()}`;
  const el = h(
    "dialog",
    { class: wide ? "dialog dialog-wide" : "dialog", "aria-labelledby": titleId },
    h("form", { method: "dialog", class: "dialog-form" },
      h("div", { class: "dialog-head" },
        h("h2", { id: titleId }, title),
        h("button", { type: "button", class: "icon-button", "aria-label": "Close", onclick: () => el.close("") }, "✕")),
      h("div", { class: "dialog-body" }, body),
      actions && actions.length ? h("div", { class: "dialog-actions" }, actions) : null),
  );
  el.addEventListener("close", () => {
    el.remove();
    if (onClose) onClose(el.returnValue);
    if (opener && opener.isConnected) opener.focus();
  });
  document.body.append(el);
  el.showModal();
  return el;
}

export function confirmDialog(title, message, confirmLabel = "OK", { danger = false } = {}) {
  return new Promise((resolve) => {
    const ok = h("button", { value: "ok", class: danger ? "button danger" : "button primary" }, confirmLabel);
    dialog(title, h("p", {}, message), [h("button", { value: "", class: "button" }, "Cancel"), ok], {
      onClose: (value) => resolve(value === "ok"),
    });
    ok.focus();
  });
}

export function promptDialog(title, label, value = "", confirmLabel = "OK") {
  return new Promise((resolve) => {
    const id = `prompt-${crypto.randomUUID()}`;
    const input = h("input", { id, type: "text", value, required: true, autocomplete: "off", spellcheck: "false" });
    const el = dialog(title, h("div", { class: "field" }, h("label", { for: id }, label), input), [
      h("button", { value: "", class: "button", formnovalidate: true }, "Cancel"),
      h("button", { value: "ok", class: "button primary" }, confirmLabel),
    ], { onClose: (v) => resolve(v === "ok" ? input.value.trim() : null) });
    el.querySelector("form").addEventListener("submit", (event) => {
      if (event.submitter && event.submitter.value === "ok" && !input.value.trim()) event.preventDefault();
    });
    input.focus();
    const dot = value.lastIndexOf(".");
    input.setSelectionRange(0, dot > 0 ? dot : value.length);
  });
}

// -- menus (a button that opens a list of actions; arrows move, Escape closes) ------------------

export function menuButton(label, items, { className = "icon-button", text = "⋯" } = {}) {
  const button = h("button", { type: "button", class: className, "aria-haspopup": "menu", "aria-expanded": "false", "aria-label": label }, text);
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    openMenu(button, items());
  });
  return button;
}

let openMenuEl = null;

function closeMenu(focusButton) {
  if (!openMenuEl) return;
  const { el, button } = openMenuEl;
  openMenuEl = null;
  el.remove();
  button.setAttribute("aria-expanded", "false");
  if (focusButton) button.focus();
}

function openMenu(button, items) {
  closeMenu(false);
  const el = h("div", { class: "menu", role: "menu" });
  for (const item of items.filter(Boolean)) {
    el.append(h("button", {
      type: "button",
      role: "menuitem",
      tabindex: "-1",
      class: item.danger ? "menu-item danger" : "menu-item",
      onclick: () => { closeMenu(true); item.action(); },
    }, item.label));
  }
  document.body.append(el);
  const rect = button.getBoundingClientRect();
  const width = 220;
  el.style.left = `${Math.max(8, Math.min(rect.right - width, window.innerWidth - width - 8)) + window.scrollX}px`;
  el.style.top = `${rect.bottom + window.scrollY + 4}px`;
  button.setAttribute("aria-expanded", "true");
  openMenuEl = { el, button };
  const entries = [...el.querySelectorAll("[role=menuitem]")];
  entries[0]?.focus();
  el.addEventListener("keydown", (event) => {
    const i = entries.indexOf(document.activeElement);
    if (event.key === "ArrowDown") entries[(i + 1) % entries.length].focus();
    else if (event.key === "ArrowUp") entries[(i - 1 + entries.length) % entries.length].focus();
    else if (event.key === "Home") entries[0].focus();
    else if (event.key === "End") entries[entries.length - 1].focus();
    else if (event.key === "Escape" || event.key === "Tab") closeMenu(true);
    else return;
    event.preventDefault();
  });
}

document.addEventListener("click", (event) => {
  if (openMenuEl && !openMenuEl.el.contains(event.target)) closeMenu(false);
});
