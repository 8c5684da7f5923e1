// Public link pages: /s/LINK_ID#KEY, for anyone, with no account. The key lives only in
// the fragment, which browsers never send (SECURITY.md A12); the page sends the server only
// the link-auth value derived from it. A password link has no fragment: the page asks for
// the password and derives the key with Argon2id in the Web Worker. A file link shows the
// file and a download button; a folder link a browsable tree, with a download per file and
// the whole folder as a zip. Everything is decrypted here and checked as the owner's own
// client checks it; downloads go through the origin-private file system as in the app.

import { ApiError, IntegrityError, UsageError } from "../../errors.js";
import * as cl from "../../crypto/links.js";
import { LinkApi, openLink, passwordLinkKey } from "../links.js";
import { downloadFile, downloadFolder } from "../downloads.js";
import { humanDate, humanSize, iconName, typeLabel } from "../format.js";
import { describe, h, iconImg, replace } from "../ui.js";
import { showRequest } from "./request.js";
import { transferPanel } from "./transfers.js";

const ID = /^[0-9a-f]{32}$/;

/** "Report this link": to /abuse with the link's id, never its key (the part after #). */
function reportLink() {
  const linkId = location.pathname.slice(3);
  if (!ID.test(linkId)) return null;
  return h("p", { class: "report-link" }, h("a", { href: `/abuse?link=${linkId}`, "data-link": "", id: "report-link" }, "Report this link"));
}

function card(...children) {
  return h("div", { class: "auth-card link-card" }, h("p", { class: "brand" }, iconImg("lock", "brand-icon"), " Coffre"), children, reportLink());
}

function problemPage(main, title, ...text) {
  document.title = `${title} · Coffre`;
  replace(main, card(h("h1", {}, title), text.map((t) => (typeof t === "string" ? h("p", {}, t) : t))));
  main.dataset.state = "problem";
}

function apiProblem(main, error) {
  switch (error.code) {
    case "link_not_found":
    case "not_found":
    case "invalid_request":
      return problemPage(main, "This link does not exist",
        "No link has this address. Check that it was copied whole, or ask whoever sent it for a new one.");
    case "link_disabled":
      return problemPage(main, "This link was disabled after a report",
        "Coffre disabled it after a report of abuse or copyright infringement. Its owner was told and may answer; it may work again later.");
    case "link_revoked":
      return problemPage(main, "This link was turned off", "Its owner revoked it: it no longer opens anything. Ask them for a new one.");
    case "link_expired":
      return problemPage(main, "This link has expired", "It was made to work for a limited time only. Ask its owner for a new one.");
    case "link_unavailable":
      return problemPage(main, "This file or folder is no longer available",
        "Its owner deleted it or moved it to the rubbish bin.");
    case "transfer_quota_exceeded":
      return problemPage(main, "This link is resting",
        "Its owner's links have served as much as they may for now. Try again later.");
    case "too_many_requests":
      return problemPage(main, "Too many attempts", "Too many wrong keys or passwords, or too many links opened from here. Wait a while, then try again.");
    default:
      return problemPage(main, "This link cannot be opened", describe(error));
  }
}

/** A form for what opens the link: its password, or (a URL without #KEY) its key.
 * `next()` waits for the next submission; `fail(message)` shows why it did not open. */
function secretForm(main, { password }) {
  const id = password ? "link-password" : "link-key";
  const error = h("p", { class: "form-error", role: "alert", id: "link-error" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const input = h("input", {
    id, name: id, type: password ? "password" : "text", required: true, autocomplete: password ? "current-password" : "off", spellcheck: "false",
  });
  const submit = h("button", { type: "submit", class: "button primary" }, "Open");
  const form = h("form", { class: "auth-form", "aria-describedby": "link-error" },
    h("div", { class: "field" }, h("label", { for: id }, password ? "Password" : "Link key"), input,
      password ? h("p", { class: "hint" }, "It never leaves this browser: the key is derived from it here.")
        : h("p", { class: "hint" }, "The 43 letters and digits that come after # in the whole link.")),
    error, submit, status);
  const title = password ? "This link is protected by a password" : "This link is missing its key";
  document.title = `${title} · Coffre`;
  replace(main, card(h("h1", {}, title),
    password ? h("p", {}, "Someone shared a file or folder with you. Enter the password they gave you to open it.")
      : h("p", {}, "The address has no valid key after #: it was cut, or the key was sent to you separately."),
    form));
  main.dataset.state = password ? "password" : "key";
  queueMicrotask(() => input.focus());
  let waiting = null;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!waiting) return;
    const resolve = waiting;
    waiting = null;
    error.textContent = "";
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    status.textContent = password ? "Checking the password… (Argon2id, in this browser)" : "Opening…";
    resolve(input.value);
  });
  return {
    next: () => new Promise((resolve) => { waiting = resolve; }),
    fail: (message) => {
      error.textContent = message;
      status.textContent = "";
      submit.disabled = false;
      form.removeAttribute("aria-busy");
      input.select();
      input.focus();
    },
  };
}

function fileDetails(entry) {
  const v = entry.version;
  return h("dl", { class: "facts" },
    h("dt", {}, "Size"), h("dd", { id: "link-size" }, humanSize(v.size)),
    h("dt", {}, "Type"), h("dd", {}, `${typeLabel(entry)} (${v.mediaType || "unknown"})`),
    h("dt", {}, "Modified"), h("dd", {}, humanDate(v.mtimeMs)));
}

function showFile(main, reader, entry) {
  document.title = `${entry.name} · Coffre`;
  replace(main, card(
    h("p", { class: "muted" }, "Someone shared a file with you."),
    h("h1", { class: "link-title" }, iconImg(iconName(entry), "entry-icon"), " ", h("span", { class: "entry-name" }, entry.name)),
    fileDetails(entry),
    h("button", { type: "button", class: "button primary", onclick: () => downloadFile(reader, entry) }, "Download"),
    h("p", { class: "hint" }, "Decrypted in your browser: the key is in the part of the link after #, which never reached the server.")),
  transferPanel());
  main.dataset.state = "file";
}

function showFolder(main, drive) {
  let folder = drive.root;
  const body = h("div", {});
  const draw = () => {
    const trail = drive.ancestors(folder);
    const entries = drive.listing(folder).sort((a, b) => (b.isFolder - a.isFolder) || a.name.localeCompare(b.name));
    const rows = entries.map((entry) => h("tr", { dataset: { id: entry.id, kind: entry.kind } },
      h("th", { scope: "row", class: "name-cell" }, entry.isFolder
        ? h("button", { type: "button", class: "name-button", onclick: () => { folder = entry; draw(); } },
          iconImg("folder", "entry-icon"), h("span", { class: "entry-name" }, entry.name))
        : h("span", { class: "name-button" }, iconImg(iconName(entry), "entry-icon"), h("span", { class: "entry-name" }, entry.name))),
      h("td", {}, entry.isFolder ? "Folder" : humanSize(entry.size)),
      h("td", {}, entry.isFolder ? "" : humanDate(entry.version.mtimeMs)),
      h("td", { class: "actions" }, entry.isFolder
        ? h("button", { type: "button", class: "button small", "aria-label": `Download ${entry.name} as zip`, onclick: () => downloadFolder(drive, entry) }, "Zip")
        : h("button", { type: "button", class: "button small", "aria-label": `Download ${entry.name}`, onclick: () => downloadFile(drive.api, entry) }, "Download"))));
    replace(body,
      h("nav", { class: "breadcrumbs", "aria-label": "Breadcrumb" }, h("ol", {}, trail.map((f, i) => h("li", {},
        i === trail.length - 1 ? h("span", { "aria-current": "page" }, f.name)
          : h("button", { type: "button", class: "link-button", onclick: () => { folder = f; draw(); } }, f.name))))),
      drive.broken.length ? h("p", { class: "notice notice-error", role: "alert" },
        `${drive.broken.length} item${drive.broken.length > 1 ? "s" : ""} failed an integrity check and ${drive.broken.length > 1 ? "are" : "is"} not shown.`) : null,
      entries.length
        ? h("table", { class: "table" },
          h("caption", { class: "visually-hidden" }, `Contents of ${folder.name}`),
          h("thead", {}, h("tr", {}, ["Name", "Size", "Modified", "Download"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", {}, rows))
        : h("p", { class: "empty" }, "This folder is empty."));
    const focus = body.querySelector("[aria-current=page]");
    if (focus) focus.setAttribute("tabindex", "-1");
  };
  const files = drive.walk(drive.root).filter(({ entry }) => !entry.isFolder);
  const total = files.reduce((sum, { entry }) => sum + entry.size, 0);
  document.title = `${drive.root.name} · Coffre`;
  replace(main, h("div", { class: "link-page" }, card(
    h("p", { class: "muted" }, "Someone shared a folder with you."),
    h("h1", { class: "link-title" }, iconImg("folder", "entry-icon"), " ", h("span", { class: "entry-name" }, drive.root.name)),
    h("p", {}, `${files.length} file${files.length === 1 ? "" : "s"}, ${humanSize(total)} in all.`),
    h("button", { type: "button", class: "button primary", onclick: () => downloadFolder(drive, drive.root) }, "Download all as zip"),
    h("p", { class: "hint" }, "Decrypted in your browser: the key is in the part of the link after #, which never reached the server."),
    body)), transferPanel());
  main.dataset.state = "folder";
  draw();
}

async function open(main, linkId) {
  if (!ID.test(linkId)) return problemPage(main, "This link does not exist", "This address is not a Coffre link.");
  const reader = new LinkApi(linkId);
  let pub;
  try {
    pub = await reader.public();
  } catch (error) {
    if (error instanceof ApiError) return apiProblem(main, error);
    throw error;
  }
  if (pub.kind === "request") {
    let publicKey = null;
    try {
      publicKey = cl.decodeKey(location.hash.slice(1));
    } catch {
      return problemPage(main, "This link is missing its key",
        "An upload-only link ends with # and 43 letters and digits: the address was cut. Ask whoever sent it for the whole link.");
    }
    reader.prove(await cl.linkAuth(publicKey));
    return showRequest(main, reader, pub, publicKey, card);
  }
  const show = (opened) => (opened.drive ? showFolder(main, opened.drive) : showFile(main, reader, opened.root));
  const fail = (error) => {
    if (error instanceof ApiError) return apiProblem(main, error);
    if (error instanceof IntegrityError) return problemPage(main, "Integrity check failed", describe(error));
    throw error;
  };
  const fragment = location.hash.slice(1);
  if (!pub.kdf && fragment) {
    let linkKey = null;
    try {
      linkKey = cl.decodeKey(fragment);
    } catch {
      /* not a key: asked for below */
    }
    if (linkKey) {
      try {
        return show(await openLink(reader, pub, linkKey));
      } catch (error) {
        if (error instanceof ApiError && error.code === "link_auth_failed") {
          return problemPage(main, "This link's key is wrong",
            "The part after # does not open this link: it may have been cut or changed when it was copied.");
        }
        return fail(error);
      }
    }
  }
  const form = secretForm(main, { password: Boolean(pub.kdf) });
  for (;;) {
    const value = await form.next();
    let linkKey;
    try {
      linkKey = pub.kdf ? await passwordLinkKey(pub, value) : cl.decodeKey(value);
    } catch (error) {
      form.fail(error instanceof UsageError ? "That is not a valid link key: check that you copied all of it." : describe(error));
      continue;
    }
    try {
      return show(await openLink(reader, pub, linkKey));
    } catch (error) {
      if (error instanceof ApiError && error.code === "link_auth_failed") {
        form.fail(pub.kdf ? "Wrong password." : "Wrong key: it does not open this link.");
        continue;
      }
      if (error instanceof ApiError && error.code === "too_many_requests") {
        form.fail("Too many wrong attempts: wait a while, then try again.");
        continue;
      }
      return fail(error);
    }
  }
}

export function renderLink({ linkId }) {
  document.title = "Shared link · Coffre";
  const main = h("main", { id: "main", tabindex: "-1", class: "auth link" },
    card(h("p", { role: "status" }, "Opening the link…")));
  open(main, linkId).catch((error) => problemPage(main, "This link cannot be opened", describe(error)));
  return main;
}
