// The web client's entry point: the shell, the router and the live change feed.
//
// Routes (the server answers index.html on each):
//   /login /signup /recover      account pages
//   /files, /files/FOLDER_ID     the file manager (?q= searches by name)
//   /rubbish                     the rubbish bin
//   /account                     quota, usage, sessions, password, recovery key
//   /links                       your public links (downloads, state, revoke)
//   /contacts                    contacts, invitations, fingerprints, verification
//   /shared                      folders shared with you and by you
//   /shared/SHARE_ID[/FOLDER_ID] a folder someone shares with you, in the file manager
//   /s/LINK_ID#KEY               a public link page, for anyone (no account needed)
//   /abuse[?link=LINK_ID]        the form to report a link, for anyone
//   /transparency                aggregate counts of reports and what was done, for anyone
//   /support, /support/TICKET_ID support: the contact form (also without an account), tickets
//   /staff, /staff/tickets/ID,   the staff desk: the ticket queue, a ticket, canned replies
//   /staff/canned                (staff accounts with two-factor authentication only);
//   /staff/accounts, /staff/abuse account facts (support codes) and abuse reports

import { Api } from "./api.js";
import { Drive } from "./drive.js";
import * as session from "./session.js";
import { LEVEL_NAMES, ShareDrive, openIncoming } from "./sharing.js";
import { Uploader, cleanDownloads } from "./transfers.js";
import { describe, h, iconImg, notify, notifyError, replace } from "./ui.js";
import { renderAuth } from "./views/auth.js";
import { renderFiles } from "./views/files.js";
import { renderRubbish } from "./views/rubbish.js";
import { renderAccount } from "./views/account.js";
import { renderLink } from "./views/link.js";
import { renderAbuse, renderTransparency } from "./views/abuse.js";
import { renderLinks } from "./views/links.js";
import { renderContacts } from "./views/contacts.js";
import { renderShares } from "./views/shares.js";
import { transferPanel } from "./views/transfers.js";
import { renderSupport, renderTicket } from "./views/support.js";
import { renderStaffCanned, renderStaffDesk, renderStaffTicket } from "./views/staff/desk.js";
import { renderStaffAbuse } from "./views/staff/abuse.js";
import { renderStaffAccounts } from "./views/staff/accounts.js";
import { staffMe } from "./tickets.js";

export const app = {
  api: new Api({ onUnauthenticated: () => signedOut("Your session has ended. Log in again.") }),
  keys: null,
  sessionId: null,
  drive: null,
  uploader: null,
  feed: null,
  staff: false,
  navigate,
  signedIn,
  signOut,
};

// -- the change feed ------------------------------------------------------------------------------

class LiveFeed {
  constructor(api, drive) {
    this.api = api;
    this.drive = drive;
    this.controller = new AbortController();
  }

  async start() {
    // The feed's head first, then the tree: a change made meanwhile is applied again.
    const head = await this.api.events(Number.MAX_SAFE_INTEGER, 0);
    this.after = head.last;
    this.loop();
  }

  async loop() {
    let delay = 1000;
    while (!this.controller.signal.aborted) {
      try {
        const answer = await this.api.events(this.after, 25, this.controller.signal);
        if (answer.events.length) await this.drive.apply(answer.events);
        this.after = answer.last;
        delay = 1000;
      } catch (error) {
        if (this.controller.signal.aborted) return;
        if (error.status === 401) return;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 30000);
      }
    }
  }

  stop() {
    this.controller.abort();
  }
}

// -- signing in and out -------------------------------------------------------------------------

async function signedIn(keys, sessionId) {
  app.keys = keys;
  app.sessionId = sessionId;
  app.drive = new Drive(app.api, keys);
  app.uploader = new Uploader(app.drive);
  await app.drive.load();
  app.feed = new LiveFeed(app.api, app.drive);
  await app.feed.start();
  app.staff = await staffMe(app.api).then(() => true, () => false);
}

function forgetAll() {
  if (app.feed) app.feed.stop();
  session.forget();
  app.api.token = null;
  Object.assign(app, { keys: null, sessionId: null, drive: null, uploader: null, feed: null, staff: false });
}

async function signOut() {
  try {
    await app.api.logout();
  } catch {
    /* the session may already have ended */
  }
  forgetAll();
  await cleanDownloads();
  navigate("/login", { replace: true });
  notify("You are logged out.");
}

function signedOut(message) {
  if (!app.keys) return;
  forgetAll();
  navigate("/login", { replace: true });
  notify(message, { kind: "error" });
}

// -- the shell ----------------------------------------------------------------------------------------

function navLink(href, label, current) {
  return h("li", {}, h("a", { href, "aria-current": current ? "page" : null, "data-link": "" }, label));
}

function shell(active) {
  const main = h("main", { id: "main", tabindex: "-1", class: "content" });
  const search = h("input", {
    type: "search", id: "search", name: "q", placeholder: "Search by name", autocomplete: "off",
    value: new URLSearchParams(location.search).get("q") || "",
  });
  const searchForm = h("form", { class: "search", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const q = search.value.trim();
    navigate(q ? `/files?q=${encodeURIComponent(q)}` : "/files");
  } }, h("label", { for: "search", class: "visually-hidden" }, "Search files by name"), search,
  h("button", { type: "submit", class: "button" }, "Search"));
  const app_ = h("div", { class: "shell" },
    h("header", { class: "topbar" },
      h("a", { href: "/files", class: "brand", "data-link": "" }, iconImg("lock", "brand-icon"), " Coffre"),
      searchForm,
      h("div", { class: "who" },
        h("span", { class: "email", title: "Signed in as" }, app.keys.email),
        h("button", { type: "button", class: "button", onclick: signOut }, "Log out"))),
    h("nav", { class: "sidebar", "aria-label": "Sections" },
      h("ul", {},
        navLink("/files", "Files", active === "files"),
        navLink("/shared", "Shared", active === "shared" || active === "share"),
        navLink("/links", "Links", active === "links"),
        navLink("/contacts", "Contacts", active === "contacts"),
        navLink("/rubbish", "Rubbish bin", active === "rubbish"),
        navLink("/account", "Account", active === "account"),
        navLink("/support", "Support", active === "support" || active === "ticket"),
        app.staff ? navLink("/staff", "Staff desk", active.startsWith("staff")) : null)),
    main,
    transferPanel(),
  );
  replace(document.getElementById("app"), h("div", { id: "notices", class: "notices" }), app_);
  return main;
}

// -- the router -----------------------------------------------------------------------------------------

function route() {
  const path = location.pathname;
  let m;
  if (path.startsWith("/s/")) return { view: "link", linkId: decodeURIComponent(path.slice(3)) };
  if (path === "/abuse") return { view: "abuse" };
  if (path === "/transparency") return { view: "transparency" };
  if (["/login", "/signup", "/recover"].includes(path)) return { view: "auth", mode: path.slice(1) };
  if (path === "/" || path === "/files") return { view: "files", folderId: null };
  if ((m = path.match(/^\/files\/([0-9a-f]{32})$/))) return { view: "files", folderId: m[1] };
  if (path === "/rubbish") return { view: "rubbish" };
  if (path === "/account") return { view: "account" };
  if (path === "/links") return { view: "links" };
  if (path === "/contacts") return { view: "contacts" };
  if (path === "/shared") return { view: "shared" };
  if (path === "/support") return { view: "support" };
  if ((m = path.match(/^\/support\/([0-9a-f]{32})$/))) return { view: "ticket", ticketId: m[1] };
  if (path === "/staff") return { view: "staff" };
  if ((m = path.match(/^\/staff\/tickets\/([0-9a-f]{32})$/))) return { view: "staff-ticket", ticketId: m[1] };
  if (path === "/staff/canned") return { view: "staff-canned" };
  if (path === "/staff/accounts") return { view: "staff-accounts" };
  if (path === "/staff/abuse") return { view: "staff-abuse" };
  if ((m = path.match(/^\/shared\/([0-9a-f]{32})(?:\/([0-9a-f]{32}))?$/))) return { view: "share", shareId: m[1], folderId: m[2] || null };
  return { view: "notfound" };
}

let rendering = Promise.resolve();

export function navigate(path, { replace: replaceState = false } = {}) {
  if (replaceState) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  return render();
}

async function renderNow() {
  const r = route();
  const root = document.getElementById("app");
  if (r.view === "link") {
    replace(root, h("div", { id: "notices", class: "notices" }));
    root.append(renderLink(r));
    return;
  }
  if (r.view === "abuse" || r.view === "transparency") {
    replace(root, h("div", { id: "notices", class: "notices" }));
    root.append(r.view === "abuse" ? renderAbuse() : renderTransparency());
    return;
  }
  if (!app.keys) {
    const stored = session.saved();
    if (stored) {
      try {
        app.api.token = stored.token;
        const { keys, sessionId } = await session.resume(app.api, stored);
        await signedIn(keys, sessionId);
      } catch (error) {
        forgetAll();
        if (r.view !== "auth") notifyError(error);
      }
    }
  }
  if ((r.view === "support" || r.view === "ticket") && !app.keys) {
    // Support is open to anyone: a bare page, no account needed.
    const main = h("main", { id: "main", tabindex: "-1", class: "content support-page" });
    replace(root, h("div", { id: "notices", class: "notices" }),
      h("header", { class: "topbar" },
        h("a", { href: "/login", class: "brand", "data-link": "" }, iconImg("lock", "brand-icon"), " Coffre"),
        h("a", { href: "/login", "data-link": "", class: "button" }, "Log in")),
      main);
    if (r.view === "support") await renderSupport(main, { signedIn: false });
    else await renderTicket(main, { ticketId: r.ticketId, signedIn: false });
    return;
  }
  if (r.view === "auth") {
    if (app.keys) return navigate("/files", { replace: true });
    replace(root, h("div", { id: "notices", class: "notices" }));
    root.append(renderAuth(r.mode));
    return;
  }
  if (!app.keys) return navigate("/login", { replace: true });
  if (r.view === "notfound") {
    const main = shell("");
    main.append(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/files", "data-link": "" }, "Go to your files")));
    return;
  }
  const main = shell(r.view);
  if (r.view === "files") await renderFiles(main, r.folderId, new URLSearchParams(location.search).get("q"));
  else if (r.view === "rubbish") await renderRubbish(main);
  else if (r.view === "account") await renderAccount(main);
  else if (r.view === "links") await renderLinks(main);
  else if (r.view === "contacts") await renderContacts(main);
  else if (r.view === "shared") await renderShares(main);
  else if (r.view === "share") await renderShare(main, r.shareId, r.folderId);
  else if (r.view === "support") await renderSupport(main, { signedIn: true });
  else if (r.view === "ticket") await renderTicket(main, { ticketId: r.ticketId, signedIn: true });
  else if (r.view === "staff") await renderStaffDesk(main);
  else if (r.view === "staff-ticket") await renderStaffTicket(main, r.ticketId);
  else if (r.view === "staff-canned") await renderStaffCanned(main);
  else if (r.view === "staff-accounts") await renderStaffAccounts(main);
  else if (r.view === "staff-abuse") await renderStaffAbuse(main);
}

/** A folder someone shares with this account, in the file manager. The share is opened
 * again (its owner's signature checked with their pinned key) and its tree read afresh
 * on every visit: the owner may have renewed its keys or changed the access level. */
async function renderShare(main, shareId, folderId) {
  let context;
  try {
    const info = (await app.api.shares()).incoming.find((s) => s.id === shareId);
    if (!info) {
      replace(main, h("h1", {}, "Shared folder not found"),
        h("p", {}, "It is no longer shared with you. ", h("a", { href: "/shared", "data-link": "" }, "See your shared folders")));
      return;
    }
    if (!info.accepted) return navigate("/shared", { replace: true });
    const drive = await ShareDrive.open(app.api, app.keys, await openIncoming(app.drive, info));
    await drive.load();
    context = {
      drive,
      uploader: new Uploader(drive),
      base: `/shared/${shareId}`,
      rootLabel: drive.root.name,
      subtitle: `Shared with you by ${info.owner.email} · ${LEVEL_NAMES[info.access]}`,
      own: false,
      canWrite: info.access !== "read",
      canRemove: info.access === "full",
    };
  } catch (error) {
    replace(main, h("h1", {}, "This shared folder cannot be opened"), h("p", { class: "form-error", role: "alert" }, describe(error)),
      h("p", {}, h("a", { href: "/shared", "data-link": "" }, "See your shared folders")));
    return;
  }
  await renderFiles(main, folderId, null, context);
}

function render() {
  rendering = rendering.then(renderNow).catch(notifyError);
  return rendering;
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  if (!a || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", render);

cleanDownloads().finally(render);
