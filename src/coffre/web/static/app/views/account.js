// The account page: storage quota and usage by category, sessions (revoke), password
// change, the recovery key.

import { app } from "../main.js";
import * as session from "../session.js";
import { encodeRecoveryKey } from "../../crypto/account.js";
import { humanDate, humanSize } from "../format.js";
import { confirmDialog, describe, h, notify, notifyError, replace } from "../ui.js";
import { noticesSection, supportCodeSection, twoFactorSection } from "./security.js";

function bar(id, label, used, total, note = null) {
  const percent = total ? Math.min(100, (100 * used) / total) : 0;
  return h("div", { class: "quota" },
    h("div", { class: "quota-line" },
      h("label", { for: id }, label),
      h("span", {}, total ? `${humanSize(used)} of ${humanSize(total)} (${percent.toFixed(percent < 10 ? 1 : 0)}%)` : humanSize(used))),
    h("progress", { id, max: Math.max(1, total || used || 1), value: used, class: percent > 90 ? "high" : "" }),
    note ? h("p", { class: "hint" }, note) : null);
}

function usageSection(usage) {
  const categories = [
    ["files", "Files", "current versions of your files"],
    ["versions", "Older versions", "earlier versions of files"],
    ["rubbish", "Rubbish bin", "everything in the bin, until it is emptied"],
    ["uploading", "Uploads in progress", "reserved by uploads not finished yet"],
  ];
  const transfer = usage.transfer_quota
    ? bar("quota-transfer", "Link transfer", usage.transfer_used || 0, usage.transfer_quota,
      `What your public links served in the last ${Math.round((usage.transfer_window || 86400) / 3600)} hours; links rest when it is used up.`)
    : h("div", { class: "quota" }, h("div", { class: "quota-line" }, h("span", {}, "Transfer"), h("span", {}, "not limited on this server")));
  return h("section", { "aria-labelledby": "usage-title", class: "card" },
    h("h2", { id: "usage-title" }, "Storage"),
    bar("quota-storage", "Storage used", usage.storage_used, usage.storage_quota),
    transfer,
    h("h3", {}, "By category"),
    categories.map(([key, label, note]) => bar(`usage-${key}`, label, usage[key], usage.storage_quota, note)),
    h("p", { class: "hint" }, "Sizes are of the encrypted data the server stores (a little more than your files)."));
}

function sessionsSection(sessions, redraw) {
  return h("section", { "aria-labelledby": "sessions-title", class: "card" },
    h("h2", { id: "sessions-title" }, "Sessions"),
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, ["Device", "Address", "Opened", "Last seen", ""].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, sessions.map((s) => h("tr", { dataset: { id: s.id } },
        h("th", { scope: "row" }, s.device || "unknown device", s.current ? h("strong", {}, " (this browser)") : null),
        h("td", {}, s.ip || ""),
        h("td", {}, humanDate(s.created * 1000)),
        h("td", {}, humanDate(s.last_seen * 1000)),
        h("td", { class: "actions" }, h("button", { type: "button", class: "button small danger", "aria-label": `Revoke session ${s.device || s.id}${s.current ? " (this browser)" : ""}`, onclick: async () => {
          if (s.current) {
            if (!(await confirmDialog("Log out", "Revoking this browser's session logs you out.", "Log out"))) return;
            await app.signOut();
            return;
          }
          try {
            await app.api.revokeSession(s.id);
            notify("Session revoked.");
            redraw();
          } catch (error) {
            notifyError(error);
          }
        } }, s.current ? "Log out" : "Revoke")))))));
}

function passwordSection() {
  const error = h("p", { class: "form-error", role: "alert" });
  const status = h("p", { class: "status", role: "status" });
  const input = (id, label, autocomplete) => h("div", { class: "field" }, h("label", { for: id }, label),
    h("input", { id, name: id, type: "password", required: true, autocomplete, minlength: id === "current" ? null : 8 }));
  const submit = h("button", { type: "submit", class: "button primary" }, "Change password");
  const form = h("form", { class: "stack" },
    input("current", "Current password", "current-password"),
    input("new-password", "New password", "new-password"),
    input("new-confirm", "Repeat the new password", "new-password"),
    error, submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    if (data.get("new-password") !== data.get("new-confirm")) {
      error.textContent = "The two new passwords differ.";
      return;
    }
    submit.disabled = true;
    status.textContent = "Deriving keys from both passwords…";
    try {
      await session.changePassword(app.api, app.keys, String(data.get("current")), String(data.get("new-password")));
      form.reset();
      status.textContent = "";
      notify("Password changed. Your other sessions were logged out.");
    } catch (err) {
      status.textContent = "";
      error.textContent = err.code === "invalid_credentials" ? "The current password is wrong." : describe(err);
    } finally {
      submit.disabled = false;
    }
  });
  return h("section", { "aria-labelledby": "password-title", class: "card" }, h("h2", { id: "password-title" }, "Password"), form);
}

function recoverySection(welcome) {
  const out = h("div", { class: "recovery" });
  const show = h("button", { type: "button", class: "button", "aria-expanded": "false", "aria-controls": "recovery-key-box", onclick: async () => {
    const key = await encodeRecoveryKey(app.keys.masterKey);
    show.setAttribute("aria-expanded", "true");
    replace(out,
      h("p", {}, h("code", { id: "recovery-key", class: "recovery-key", tabindex: "0" }, key)),
      h("button", { type: "button", class: "button", onclick: () => {
        const blob = new Blob([`Coffre recovery key for ${app.keys.email}\n\n${key}\n\nKeep it safe: with it, anyone can reset your password and read your files.\n`], { type: "text/plain" });
        const a = h("a", { href: URL.createObjectURL(blob), download: "coffre-recovery-key.txt", hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
      } }, "Save as a text file"));
    out.querySelector("#recovery-key").focus();
  } }, "Show recovery key");
  return h("section", { "aria-labelledby": "recovery-title", class: welcome ? "card highlight" : "card" },
    h("h2", { id: "recovery-title" }, "Recovery key"),
    welcome ? h("p", { role: "status" }, "Welcome to Coffre! Save your recovery key now: it is the only way back in if you forget your password.") : null,
    h("p", {}, "The recovery key lets you set a new password if you forget yours. Nobody else, not even the server's operators, can do it for you. Keep it somewhere safe and private."),
    h("div", { id: "recovery-key-box" }, show, out));
}

export async function renderAccount(main) {
  document.title = "Account · Coffre";
  const welcome = new URLSearchParams(location.search).has("welcome");
  const draw = async () => {
    let usage;
    let sessions;
    try {
      [usage, sessions] = await Promise.all([app.api.usage(), app.api.sessions()]);
    } catch (error) {
      notifyError(error);
      return;
    }
    if (!main.isConnected) return;
    replace(main,
      h("div", { class: "page-head" }, h("h1", {}, "Account"), h("p", { class: "muted" }, `Signed in as ${app.keys.email}`)),
      h("div", { class: "cards" },
        recoverySection(welcome),
        usageSection(usage),
        sessionsSection(sessions.sessions, draw),
        passwordSection(),
        twoFactorSection(),
        supportCodeSection(),
        noticesSection()));
  };
  await draw();
  main.focus({ preventScroll: true });
}
