// The staff desk (/staff): the ticket queue by category and state, with marks on tickets
// past their first-response or resolution target; a ticket (/staff/tickets/TICKET_ID) with
// its thread, internal notes set apart, a reply box with canned replies, state, priority,
// assignment, merge, the audit trail, and the customer's account facts; canned replies
// (/staff/canned).
//
// Ticket text comes from anyone who can fill in a form: it is only ever set as text (h()
// makes text nodes, never markup), so a message cannot run script here.

import { app, navigate } from "../../main.js";
import { hex } from "../../../crypto/bytes.js";
import { humanDate } from "../../format.js";
import * as tickets from "../../tickets.js";
import { confirmDialog, describe, h, notify, notifyError, replace } from "../../ui.js";
import { messageList } from "../support.js";
import { factsList } from "./accounts.js";

const NO_CONTENT = "Coffre staff can never see file names, contents or keys: the server has none. " +
  "These are the only facts about the account there are to see.";

/** The desk's own navigation: Tickets, canned replies, and the other staff pages. */
export function staffNav(active) {
  const item = (href, label, key) => h("li", {}, h("a", { href, "data-link": "", "aria-current": active === key ? "page" : null }, label));
  return h("nav", { class: "staff-nav", "aria-label": "Staff desk" }, h("ul", {},
    item("/staff", "Tickets", "tickets"),
    item("/staff/canned", "Canned replies", "canned"),
    item("/staff/accounts", "Accounts", "accounts"),
    item("/staff/abuse", "Abuse", "abuse")));
}

function staffOnly(main, error) {
  replace(main, h("h1", {}, "Staff desk"),
    h("p", { class: "form-error", role: "alert" }, describe(error)),
    h("p", {}, "The desk is for Coffre's support staff, who must use two-factor authentication."));
}

function select(id, label, options, value) {
  return [h("label", { for: id }, label),
    h("select", { id, name: id }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)))];
}

function breachMarks(timers) {
  return [
    timers.first_response_breached ? h("span", { class: "breach", title: `First response was due ${humanDate(timers.first_response_due * 1000)}` }, "First response overdue") : null,
    timers.resolution_breached ? h("span", { class: "breach", title: `Resolution was due ${humanDate(timers.resolution_due * 1000)}` }, "Resolution overdue") : null,
  ];
}

// -- the queue ----------------------------------------------------------------------------------

export async function renderStaffDesk(main) {
  const params = new URLSearchParams(location.search);
  const filters = {
    category: params.get("category") || "",
    state: params.has("state") ? params.get("state") : "active",
    assignee: params.get("assignee") || "",
    q: params.get("q") || "",
    breached: params.get("breached") === "1",
  };
  const [categoryLabel, category] = select("desk-category", "Category", [["", "All categories"], ...tickets.CATEGORIES], filters.category);
  const [stateLabel, state] = select("desk-state", "State", [["active", "New, open or pending"], ["", "All states"], ...tickets.STATES.map((s) => [s, s])], filters.state);
  const [assigneeLabel, assignee] = select("desk-assignee", "Assignee", [["", "Anyone"], ["me", "Me"], ["none", "Nobody"]], filters.assignee);
  const q = h("input", { id: "desk-search", type: "search", value: filters.q, placeholder: "Words, address or #number" });
  const breached = h("input", { id: "desk-breached", type: "checkbox", checked: filters.breached });
  const results = h("div", { class: "desk-results" });

  async function load() {
    const query = { category: category.value || null, state: state.value || null, assignee: assignee.value || null, q: q.value.trim() || null, breached: breached.checked ? "true" : null };
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...query, state: state.value, breached: breached.checked ? "1" : null })) if (v !== null && !(k === "state" && v === "active")) search.set(k, v);
    history.replaceState(null, "", `/staff${search.toString() ? `?${search}` : ""}`);
    let list;
    try {
      list = await tickets.queue(app.api, query);
    } catch (error) {
      if (error.status === 403) return staffOnly(main, error);
      replace(results, h("p", { class: "form-error", role: "alert" }, describe(error)));
      return;
    }
    if (!list.length) {
      replace(results, h("p", { class: "empty" }, "No tickets here."));
      return;
    }
    replace(results, h("table", { class: "table desk-table" },
      h("caption", { class: "visually-hidden" }, "Tickets"),
      h("thead", {}, h("tr", {}, ["#", "Subject", "Customer", "Category", "State", "Priority", "Assignee", "Updated"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, list.map((t) => h("tr", { "data-ticket": t.id, class: t.timers.first_response_breached || t.timers.resolution_breached ? "breached" : null },
        h("td", {}, String(t.number)),
        h("td", {}, h("a", { href: `/staff/tickets/${t.id}`, "data-link": "" }, t.subject), breachMarks(t.timers)),
        h("td", {}, t.email),
        h("td", {}, tickets.categoryLabel(t.category)),
        h("td", {}, h("span", { class: `state state-${t.state}` }, t.state)),
        h("td", {}, h("span", { class: `priority priority-${t.priority}` }, t.priority)),
        h("td", {}, t.assignee || "—"),
        h("td", {}, humanDate(t.updated * 1000)))))));
  }

  for (const el of [category, state, assignee, breached]) el.addEventListener("change", load);
  const form = h("form", { class: "toolbar desk-filters", role: "search", onsubmit: (event) => { event.preventDefault(); load(); } },
    h("div", { class: "toolbar-group" }, categoryLabel, category, stateLabel, state, assigneeLabel, assignee,
      h("span", { class: "field-inline" }, breached, h("label", { for: "desk-breached" }, "Past a target only"))),
    h("div", { class: "toolbar-group" }, h("label", { for: "desk-search", class: "visually-hidden" }, "Search tickets"), q,
      h("button", { type: "submit", class: "button" }, "Search")));
  replace(main, staffNav("tickets"), h("h1", {}, "Tickets"), form, results);
  await load();
}

// -- one ticket -----------------------------------------------------------------------------------

function accountPanel(ticket) {
  const panel = h("aside", { class: "card account-facts", "aria-labelledby": "facts-title" },
    h("h2", { id: "facts-title" }, "Customer's account"),
    h("p", { class: "notice banner no-content", role: "note" }, NO_CONTENT));
  if (!ticket.account) {
    panel.append(h("p", { class: "muted" }, `${ticket.email} filed this without an account (or the account is gone).`));
    return panel;
  }
  const facts = ticket.account;
  // The ticket's customer: who they are is the ticket's; their id and role are not shown.
  panel.append(factsList(facts, { omit: ["user_id", "role"], id: null }));
  return panel;
}

function controls(ticket, refresh) {
  const [stateLabel, state] = select("ticket-state", "State", tickets.STATES.map((s) => [s, s]), ticket.state);
  const [priorityLabel, priority] = select("ticket-priority", "Priority", tickets.PRIORITIES.map((p) => [p, p]), ticket.priority);
  const [categoryLabel, category] = select("ticket-category", "Category", tickets.CATEGORIES, ticket.category);
  const change = async (changes) => {
    try {
      await tickets.deskUpdate(app.api, ticket.id, changes);
      notify("Ticket updated.");
      await refresh();
    } catch (error) {
      notifyError(error);
    }
  };
  state.addEventListener("change", () => change({ state: state.value }));
  priority.addEventListener("change", () => change({ priority: priority.value }));
  category.addEventListener("change", () => change({ category: category.value }));
  const into = h("input", { id: "merge-into", inputmode: "numeric", placeholder: "#number", size: 8 });
  const merge = h("form", { class: "toolbar-group", onsubmit: async (event) => {
    event.preventDefault();
    const number = into.value.trim().replace(/^#/, "");
    if (!/^\d+$/.test(number)) return notify("Give the number of the ticket to merge into.", { kind: "error" });
    try {
      const target = await tickets.deskShow(app.api, number);
      if (!(await confirmDialog("Merge tickets", `Merge #${ticket.number} into #${target.number} (${target.subject})? Its messages move there and this ticket is closed.`, "Merge"))) return;
      const merged = await tickets.deskMerge(app.api, ticket.id, target.id);
      notify(`Merged into #${merged.number}.`);
      navigate(`/staff/tickets/${merged.id}`);
    } catch (error) {
      notifyError(error);
    }
  } }, h("label", { for: "merge-into" }, "Merge into"), into, h("button", { type: "submit", class: "button" }, "Merge"));
  return h("div", { class: "toolbar ticket-controls" },
    h("div", { class: "toolbar-group" }, stateLabel, state, priorityLabel, priority, categoryLabel, category,
      assigneeSelect(ticket, change),
      ticket.assignee_id === hex(app.keys.userId)
        ? h("button", { type: "button", class: "button", onclick: () => change({ assignee_id: null }) }, "Unassign")
        : h("button", { type: "button", class: "button", onclick: () => change({ assignee_id: hex(app.keys.userId) }) }, "Assign to me")),
    ticket.merged_into ? null : merge);
}

/** "Assign to": nobody, or any staff account (the list arrives after the page is drawn). */
function assigneeSelect(ticket, change) {
  const current = ticket.assignee_id || "";
  const select = h("select", { id: "desk-assign", name: "assignee" },
    h("option", { value: "" }, "Nobody"),
    current ? h("option", { value: current, selected: true }, ticket.assignee || current) : null);
  tickets.deskAgents(app.api).then((agents) => {
    for (const agent of agents) {
      if (agent.id === current) continue;
      select.append(h("option", { value: agent.id }, `${agent.email} (${agent.role})`));
    }
  }).catch(notifyError);
  select.addEventListener("change", () => change({ assignee_id: select.value || null }));
  return h("span", { class: "field-inline" }, h("label", { for: "desk-assign" }, "Assign to"), select);
}

async function composer(ticket, refresh) {
  const error = h("p", { class: "form-error", role: "alert" });
  const text = h("textarea", { id: "desk-message", name: "message", rows: 6, maxlength: 20000 });
  const files = h("input", { id: "desk-files", type: "file", multiple: true });
  let replies = [];
  try {
    replies = await tickets.cannedList(app.api);
  } catch {
    /* the composer works without them */
  }
  const canned = h("select", { id: "desk-canned" },
    h("option", { value: "" }, replies.length ? "Insert a canned reply…" : "No canned replies"),
    replies.map((r) => h("option", { value: r.id }, r.title)));
  canned.addEventListener("change", () => {
    const chosen = replies.find((r) => r.id === canned.value);
    if (chosen) {
      text.value = text.value ? `${text.value}\n\n${chosen.body}` : chosen.body;
      text.focus();
    }
    canned.value = "";
  });
  const submit = (kind) => async () => {
    error.textContent = "";
    if (!text.value.trim()) {
      error.textContent = "Write something first.";
      return;
    }
    try {
      const body = { message: text.value, attachments: await tickets.readAttachments(files) };
      if (kind === "note" || kind === "call") await tickets.deskNote(app.api, ticket.id, { ...body, call: kind === "call" });
      else await tickets.deskReply(app.api, ticket.id, body);
      notify(kind === "reply" ? "Reply sent to the customer." : kind === "call" ? "Call logged." : "Note added.");
      await refresh();
    } catch (err) {
      error.textContent = describe(err);
    }
  };
  return h("section", { class: "card section composer", "aria-labelledby": "composer-title" },
    h("h2", { id: "composer-title" }, "Answer"),
    h("div", { class: "field" }, h("label", { for: "desk-canned" }, "Canned replies"), canned),
    h("div", { class: "field" }, h("label", { for: "desk-message" }, "Message"), text),
    h("div", { class: "field" }, h("label", { for: "desk-files" }, "Attachments"), files),
    error,
    h("div", { class: "toolbar-group" },
      h("button", { type: "button", class: "button primary", onclick: submit("reply") }, "Send reply"),
      h("button", { type: "button", class: "button", onclick: submit("note") }, "Add internal note"),
      h("button", { type: "button", class: "button", onclick: submit("call") }, "Log a phone call"),
      h("span", { class: "hint" }, "A reply is emailed to the customer; a note, or a call's record, is seen by staff only. To open an account's facts on the phone, ask for its support code (Accounts).")));
}

function auditTrail(entries) {
  return h("section", { class: "card section", "aria-labelledby": "audit-title" },
    h("h2", { id: "audit-title" }, "Audit trail"),
    h("ol", { class: "audit" }, entries.map((e) => h("li", {},
      h("span", { class: "muted" }, humanDate(e.at * 1000)), " ", h("strong", {}, e.actor), " ", e.action, e.detail ? `: ${e.detail}` : ""))));
}

export async function renderStaffTicket(main, ticketId) {
  const refresh = () => renderStaffTicket(main, ticketId);
  let ticket;
  let audit;
  try {
    [ticket, audit] = await Promise.all([tickets.deskShow(app.api, ticketId), tickets.deskAudit(app.api, ticketId)]);
  } catch (error) {
    if (error.status === 403) return staffOnly(main, error);
    replace(main, staffNav("tickets"), h("h1", {}, "Ticket not found"), h("p", { class: "form-error", role: "alert" }, describe(error)));
    return;
  }
  const download = (a) => tickets.download(app.api, tickets.deskAttachmentPath(ticket.id, a.id), a.name).catch(notifyError);
  replace(main,
    staffNav("tickets"),
    h("p", {}, h("a", { href: "/staff", "data-link": "" }, "‹ Tickets")),
    h("h1", {}, `#${ticket.number} `, ticket.subject),
    h("p", { class: "muted" }, `${tickets.categoryLabel(ticket.category)} · from ${ticket.email} · filed ${humanDate(ticket.created * 1000)}`,
      breachMarks(ticket.timers)),
    ticket.merged_into ? h("p", { class: "notice banner" }, "This ticket was merged into ", h("a", { href: `/staff/tickets/${ticket.merged_into}`, "data-link": "" }, "another ticket"), ".") : null,
    controls(ticket, refresh),
    h("div", { class: "desk-ticket" },
      h("div", { class: "desk-thread" },
        messageList(ticket.messages, { staffView: true, onDownload: download }),
        ticket.merged_into || ticket.state === "closed" ? null : await composer(ticket, refresh),
        auditTrail(audit)),
      accountPanel(ticket)));
}

// -- canned replies -----------------------------------------------------------------------------

export async function renderStaffCanned(main) {
  let replies;
  try {
    replies = await tickets.cannedList(app.api);
  } catch (error) {
    if (error.status === 403) return staffOnly(main, error);
    throw error;
  }
  const title = h("input", { id: "canned-title", required: true, maxlength: 100 });
  const body = h("textarea", { id: "canned-body", required: true, rows: 5 });
  const error = h("p", { class: "form-error", role: "alert" });
  const form = h("form", { class: "stack", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await tickets.cannedCreate(app.api, { title: title.value, body: body.value });
      notify("Canned reply saved.");
      await renderStaffCanned(main);
    } catch (err) {
      error.textContent = describe(err);
    }
  } },
  h("div", { class: "field" }, h("label", { for: "canned-title" }, "Title"), title),
  h("div", { class: "field" }, h("label", { for: "canned-body" }, "Text"), body),
  error, h("button", { type: "submit", class: "button primary" }, "Add"));
  replace(main, staffNav("canned"), h("h1", {}, "Canned replies"),
    replies.length ? h("ul", { class: "canned-list" }, replies.map((r) => h("li", { class: "card" },
      h("h2", {}, r.title),
      h("div", { class: "message-body" }, r.body),
      h("button", { type: "button", class: "button", onclick: async () => {
        if (!(await confirmDialog("Delete canned reply", `Delete “${r.title}”?`, "Delete", { danger: true }))) return;
        try {
          await tickets.cannedDelete(app.api, r.id);
          await renderStaffCanned(main);
        } catch (err) {
          notifyError(err);
        }
      } }, "Delete")))) : h("p", { class: "muted" }, "No canned replies yet."),
    h("section", { class: "card section" }, h("h2", {}, "New canned reply"), form));
}
