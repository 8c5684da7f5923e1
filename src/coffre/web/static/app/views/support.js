// The support page (/support): the contact form, for signed-in users or anyone with an email
// address, and the user's tickets; a ticket's thread (/support/TICKET_ID) with a reply form.
// A ticket filed without an account is reached with its access token, kept in the part of
// the address after # (never sent to the server as part of a request's URL).
//
// Everything a ticket says is put on the page as text (h() makes text nodes): a message can
// never become markup or script.

import { Api } from "../api.js";
import { app, navigate } from "../main.js";
import { humanDate, humanSize } from "../format.js";
import * as tickets from "../tickets.js";
import { describe, h, notify, notifyError, replace } from "../ui.js";

const WARNING = [
  "Support messages are not end-to-end encrypted: Coffre's support staff read them. ",
  "Nobody at Coffre will ever ask for your password or your recovery key, and we do not need them to help you. ",
  "We cannot see your files, their names or your keys.",
];

function warning() {
  return h("div", { class: "notice banner", role: "note", id: "support-warning" }, h("p", {}, WARNING));
}

function categorySelect(id) {
  return h("select", { id, name: "category", required: true },
    tickets.CATEGORIES.map(([value, label]) => h("option", { value }, label)));
}

function contactForm(signedIn) {
  const error = h("p", { class: "form-error", role: "alert" });
  const email = signedIn ? null : h("input", { id: "support-email", name: "email", type: "email", required: true, autocomplete: "email" });
  const category = categorySelect("support-category");
  const subject = h("input", { id: "support-subject", name: "subject", required: true, maxlength: 200 });
  const message = h("textarea", { id: "support-message", name: "message", required: true, rows: 8, maxlength: 20000 });
  const files = h("input", { id: "support-files", name: "attachments", type: "file", multiple: true });
  const send = h("button", { type: "submit", class: "button primary" }, "Send");
  const form = h("form", { class: "stack support-form", "aria-labelledby": "contact-title", onsubmit: async (event) => {
    event.preventDefault();
    error.textContent = "";
    send.disabled = true;
    try {
      const body = {
        category: category.value,
        subject: subject.value,
        message: message.value,
        attachments: await tickets.readAttachments(files),
      };
      if (email) body.email = email.value;
      const api = signedIn ? app.api : new Api();
      const created = await tickets.file(api, body);
      notify(`Ticket #${created.ticket.number} sent. We will answer by email too.`);
      const hash = created.token ? `#${created.token}` : "";
      navigate(`/support/${created.ticket.id}${hash}`);
    } catch (err) {
      error.textContent = describe(err);
      send.disabled = false;
    }
  } },
  email ? h("div", { class: "field" }, h("label", { for: "support-email" }, "Your email address"), email,
    h("p", { class: "hint" }, "We answer there. You need no account.")) : null,
  h("div", { class: "field" }, h("label", { for: "support-category" }, "Category"), category),
  h("div", { class: "field" }, h("label", { for: "support-subject" }, "Subject"), subject),
  h("div", { class: "field" }, h("label", { for: "support-message" }, "Message"), message),
  h("div", { class: "field" }, h("label", { for: "support-files" }, "Attachments"), files,
    h("p", { class: "hint" }, "Screenshots or logs, up to 5 files of 2 MiB each. Never a password or recovery key.")),
  error, send);
  return h("section", { class: "card", "aria-labelledby": "contact-title" },
    h("h2", { id: "contact-title" }, "Contact support"), form);
}

async function myTickets() {
  const list = await tickets.mine(app.api);
  const section = h("section", { class: "card section", "aria-labelledby": "my-tickets-title" },
    h("h2", { id: "my-tickets-title" }, "Your tickets"));
  if (!list.length) {
    section.append(h("p", { class: "muted" }, "You have no tickets."));
    return section;
  }
  section.append(h("table", { class: "table tickets-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "Subject"), h("th", {}, "Category"), h("th", {}, "State"), h("th", {}, "Updated"))),
    h("tbody", {}, list.map((t) => h("tr", {},
      h("td", {}, String(t.number)),
      h("td", {}, h("a", { href: `/support/${t.id}`, "data-link": "" }, t.subject)),
      h("td", {}, tickets.categoryLabel(t.category)),
      h("td", {}, h("span", { class: `state state-${t.state}` }, t.state)),
      h("td", {}, humanDate(t.updated * 1000)))))));
  return section;
}

/** The support page, signed in (in the shell) or not (`main` is a bare page). */
export async function renderSupport(main, { signedIn }) {
  replace(main,
    h("h1", {}, "Support"),
    h("p", {}, "Questions about Coffre, billing, your account, or a report of abuse: write to us. ",
      h("a", { href: "/help" }, "The help centre"), " may already have the answer."),
    warning(),
    contactForm(signedIn));
  if (signedIn) {
    try {
      main.append(await myTickets());
    } catch (error) {
      notifyError(error);
    }
  }
}

export function messageList(messages, { staffView, onDownload }) {
  return h("ol", { class: "thread" }, messages.map((m) => {
    const label = m.kind === "note" ? (m.via === "phone" ? "Phone call (staff only)" : "Internal note (staff only)") : m.kind === "staff" ? "Coffre support" : staffView ? "Customer" : "You";
    return h("li", { class: `message message-${m.kind}`, "data-kind": m.kind },
      h("div", { class: "message-head" },
        h("strong", {}, label),
        staffView || m.kind === "customer" ? h("span", { class: "muted" }, ` · ${m.author}`) : null,
        h("span", { class: "muted" }, ` · ${humanDate(m.created * 1000)} · by ${m.via}`)),
      h("div", { class: "message-body" }, m.body),
      m.attachments.length ? h("ul", { class: "attachments" }, m.attachments.map((a) => h("li", {},
        h("button", { type: "button", class: "link-button", onclick: () => onDownload(a) }, a.name),
        h("span", { class: "muted" }, ` (${humanSize(a.size)})`)))) : null);
  }));
}

/** A ticket's thread, for its customer. */
export async function renderTicket(main, { ticketId, signedIn }) {
  const token = location.hash.length > 1 ? decodeURIComponent(location.hash.slice(1)) : null;
  const api = token ? tickets.tokenApi(token) : app.api;
  let ticket;
  try {
    ticket = await tickets.show(api, ticketId);
  } catch (error) {
    replace(main, h("h1", {}, "Ticket not found"), h("p", { class: "form-error", role: "alert" }, describe(error)),
      h("p", {}, h("a", { href: "/support", "data-link": "" }, "Back to support")));
    return;
  }
  const error = h("p", { class: "form-error", role: "alert" });
  const message = h("textarea", { id: "reply-message", name: "message", required: true, rows: 5, maxlength: 20000 });
  const files = h("input", { id: "reply-files", type: "file", multiple: true });
  const send = h("button", { type: "submit", class: "button primary" }, "Send reply");
  const open = ticket.state !== "closed";
  const replyForm = open ? h("form", { class: "stack support-form", "aria-label": "Reply", onsubmit: async (event) => {
    event.preventDefault();
    send.disabled = true;
    error.textContent = "";
    try {
      await tickets.reply(api, ticket.id, { message: message.value, attachments: await tickets.readAttachments(files) });
      notify("Reply sent.");
      await renderTicket(main, { ticketId, signedIn });
    } catch (err) {
      error.textContent = describe(err);
      send.disabled = false;
    }
  } },
  h("div", { class: "field" }, h("label", { for: "reply-message" }, "Your reply"), message),
  h("div", { class: "field" }, h("label", { for: "reply-files" }, "Attachments"), files),
  error,
  h("div", { class: "toolbar-group" }, send,
    h("button", { type: "button", class: "button", onclick: async () => {
      try {
        await tickets.close(api, ticket.id);
        notify("Ticket closed.");
        await renderTicket(main, { ticketId, signedIn });
      } catch (err) {
        notifyError(err);
      }
    } }, "Close ticket"))) : h("p", { class: "muted" }, "This ticket is closed. To ask something else, ", h("a", { href: "/support", "data-link": "" }, "write to us again"), ".");
  replace(main,
    h("p", {}, h("a", { href: "/support", "data-link": "" }, "‹ Support")),
    h("h1", {}, `#${ticket.number} `, ticket.subject),
    h("p", { class: "muted" }, `${tickets.categoryLabel(ticket.category)} · `, h("span", { class: `state state-${ticket.state}` }, ticket.state),
      ` · filed ${humanDate(ticket.created * 1000)} by ${ticket.email}`),
    token ? h("p", { class: "hint" }, "Keep this page's address: it is your access to this ticket. Answers also come by email.") : null,
    messageList(ticket.messages, { staffView: false, onDownload: (a) => tickets.download(api, tickets.attachmentPath(ticket.id, a.id), a.name).catch(notifyError) }),
    warning(),
    replyForm);
}
