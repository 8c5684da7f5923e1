// Public links, the owner's side: the "Get a link" dialog (optional password and expiry;
// the address is shown once, since its key is stored nowhere) and the Links page (what
// each link points to, downloads, state; revoke).

import { app } from "../main.js";
import { createLink } from "../links.js";
import { humanDate } from "../format.js";
import { confirmDialog, describe, dialog, h, notify, notifyError, replace } from "../ui.js";

const EXPIRIES = [
  ["", "Never"],
  [String(3600), "In 1 hour"],
  [String(86400), "In 1 day"],
  [String(7 * 86400), "In 7 days"],
  [String(30 * 86400), "In 30 days"],
];

export function createLinkDialog(entry) {
  const error = h("p", { class: "form-error", role: "alert" });
  const status = h("p", { class: "status", role: "status" });
  const password = h("input", { id: "link-password", name: "link-password", type: "password", autocomplete: "new-password", disabled: true, minlength: 8 });
  const usePassword = h("input", { id: "link-use-password", type: "checkbox", onchange: () => {
    password.disabled = !usePassword.checked;
    if (usePassword.checked) password.focus();
  } });
  const expires = h("select", { id: "link-expires" }, EXPIRIES.map(([v, t]) => h("option", { value: v }, t)));
  const body = h("div", {},
    h("p", {}, `Anyone with the link can download ${entry.isFolder ? "this folder and everything in it" : "this file"}, with no account. `,
      "It is decrypted in their browser: the key is in the part of the address after #, which never reaches the server."),
    h("div", { class: "field field-inline" }, usePassword, h("label", { for: "link-use-password" }, "Protect with a password")),
    h("div", { class: "field" }, h("label", { for: "link-password" }, "Link password"), password,
      h("p", { class: "hint" }, "At least 8 characters. Send it separately from the link.")),
    h("div", { class: "field" }, h("label", { for: "link-expires" }, "Expires"), expires),
    error, status);
  const create = h("button", { type: "button", class: "button primary" }, "Create link");
  const el = dialog(`Link to ${entry.name}`, body, [h("button", { value: "", class: "button" }, "Cancel"), create]);
  el.querySelector("form").addEventListener("submit", (event) => {
    if (document.activeElement && document.activeElement.tagName === "INPUT" && !create.disabled && create.isConnected) {
      event.preventDefault(); // Enter in a field creates the link, it does not cancel
      create.click();
    }
  });
  create.addEventListener("click", async () => {
    error.textContent = "";
    if (usePassword.checked && password.value.length < 8) {
      error.textContent = "The password needs at least 8 characters.";
      password.focus();
      return;
    }
    create.disabled = true;
    status.textContent = usePassword.checked ? "Deriving the link's key from the password…" : "Creating the link…";
    try {
      const seconds = Number(expires.value) || 0;
      const { info, url } = await createLink(app.drive, entry, {
        password: usePassword.checked ? password.value : null,
        expires: seconds ? Date.now() / 1000 + seconds : null,
      });
      const field = h("input", { id: "link-url", type: "text", readonly: true, value: url, spellcheck: "false" });
      const copy = h("button", { type: "button", class: "button", onclick: async () => {
        field.select();
        try {
          await navigator.clipboard.writeText(url);
          notify("Link copied.");
        } catch {
          notify("Select the link and copy it (Ctrl+C).");
        }
      } }, "Copy");
      replace(body,
        h("div", { class: "field" }, h("label", { for: "link-url" }, "Link"), h("div", { class: "copy-row" }, field, copy)),
        h("p", {}, info.password
          ? "This link has no key in it: whoever opens it needs the password. Send the password another way."
          : "Keep it like a key: anyone who has it can download. It is shown only now (Links lists your links, not their keys)."),
        info.expires ? h("p", { class: "muted" }, `Expires ${humanDate(info.expires * 1000)}.`) : null);
      replace(el.querySelector(".dialog-actions"), h("button", { value: "", class: "button primary" }, "Done"));
      field.focus();
      field.select();
    } catch (err) {
      status.textContent = "";
      error.textContent = describe(err);
      create.disabled = false;
    }
  });
}

function state(link) {
  if (link.revoked) return "Revoked";
  if (link.expires && link.expires * 1000 <= Date.now()) return "Expired";
  return link.expires ? `Active until ${humanDate(link.expires * 1000)}` : "Active";
}

export async function renderLinks(main) {
  document.title = "Links · Coffre";
  const draw = async () => {
    let links;
    try {
      links = await app.api.links();
    } catch (error) {
      notifyError(error);
      return;
    }
    if (!main.isConnected) return;
    const drive = app.drive;
    const rows = links.slice().reverse().map((link) => {
      const entry = drive.get(link.node_id);
      const where = entry ? (drive.inBin(entry) ? `${drive.path(entry)} (in the rubbish bin)` : drive.path(entry)) : "(deleted)";
      const active = state(link).startsWith("Active");
      return h("tr", { dataset: { id: link.id } },
        h("th", { scope: "row", class: "name-cell" }, h("span", { class: "entry-name" }, where)),
        h("td", {}, link.kind === "request" ? "Upload-only" : link.kind === "folder" ? "Folder" : "File"),
        h("td", {}, humanDate(link.created * 1000)),
        h("td", {}, `${link.downloads}`),
        h("td", { class: "link-state" }, state(link), link.password ? " · password" : ""),
        h("td", { class: "actions" }, active
          ? h("button", { type: "button", class: "button small danger", "aria-label": `Revoke the link to ${where}`, onclick: async () => {
            if (!(await confirmDialog("Revoke link", `Turn off the link to ${where} for good? Whoever has it will see that it was revoked.`, "Revoke", { danger: true }))) return;
            try {
              await app.api.revokeLink(link.id);
              notify("Link revoked.");
              await draw();
            } catch (error) {
              notifyError(error);
            }
          } }, "Revoke")
          : null));
    });
    replace(main,
      h("div", { class: "page-head" }, h("h1", {}, "Links"),
        h("p", { class: "muted" }, "Public links to your files and folders. A link's address is shown once, when it is made: its key is kept nowhere, not even here.")),
      rows.length
        ? h("table", { class: "table links-table" },
          h("thead", {}, h("tr", {}, ["What", "Kind", "Created", "Downloads", "State", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows))
        : h("div", { class: "empty" }, h("p", {}, "You have no links yet."),
          h("p", { class: "muted" }, "Use “Get a link…” in a file's or folder's actions.")));
  };
  await draw();
  main.focus({ preventScroll: true });
}
