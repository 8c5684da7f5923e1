// The staff desk's Abuse page (/staff/abuse): reports and copyright notices about public
// links. Staff disable the link, or every link to the same stored file, or dismiss the
// report; they mark when the reporter acted on a counter-notice. Reports come from anyone:
// their text is only ever set as text.

import { app } from "../../main.js";
import { humanDate } from "../../format.js";
import { staff } from "../../safety.js";
import { describe, h, notify, notifyError, replace } from "../../ui.js";
import { NO_CONTENT } from "./accounts.js";
import { staffNav } from "./desk.js";

const KIND = { copyright: "Copyright notice", harm: "Harmful content", other: "Other" };
const STATUSES = [["open", "Open"], ["disabled", "Link disabled"], ["dismissed", "Dismissed"], ["restored", "Restored"], ["", "All"]];

function row(label, value) {
  return value === null || value === undefined || value === "" ? null : [h("dt", {}, label), h("dd", {}, String(value))];
}

function reportCard(report, refresh) {
  const act = (label, fn, cls = "button small") => h("button", { type: "button", class: cls, onclick: async () => {
    try {
      await fn();
      notify(`${label}: done.`);
      refresh();
    } catch (error) {
      notifyError(error);
    }
  } }, label);
  const actions = [];
  if (report.status === "open") {
    actions.push(
      act("Disable the link", () => staff.disable(app.api, report.id, "link"), "button small danger"),
      act("Disable every link to this file", () => staff.disable(app.api, report.id, "content"), "button small danger"),
      act("Dismiss", () => staff.dismiss(app.api, report.id)));
  } else if (report.status === "disabled") {
    actions.push(
      act(report.reporter_acted ? "Reporter did not act" : "Reporter acted", () => staff.reporterActed(app.api, report.id, !report.reporter_acted)),
      act("Restore and dismiss", () => staff.dismiss(app.api, report.id)));
  }
  return h("article", { class: "card report", dataset: { id: report.id, status: report.status } },
    h("h2", {}, `${KIND[report.kind] || report.kind} · ${humanDate(report.created * 1000)}`),
    h("dl", { class: "facts" },
      row("Status", report.status + (report.scope ? ` (${report.scope})` : "")),
      row("Link", report.link_id),
      row("Owner's account", report.owner_id),
      row("Reporter", `${report.reporter_name} <${report.reporter_email}>`),
      row("Work", report.work),
      row("Statements", report.kind === "copyright" ? (report.statements ? "all three made" : "missing") : null),
      row("Signature", report.signature),
      row("Links disabled", report.links_disabled || null),
      row("Access returns", report.restore_at ? humanDate(report.restore_at * 1000) : null),
      row("Reporter acted", report.reporter_acted ? "yes: access does not return by itself" : null)),
    h("h3", {}, "Description"),
    h("p", { class: "report-text" }, report.description),
    report.counter_notices.length ? [h("h3", {}, "Counter-notices"),
      report.counter_notices.map((c) => h("blockquote", { class: "report-text" }, c.statement, h("footer", {}, `${c.signature}, ${humanDate(c.created * 1000)}`)))] : null,
    h("div", { class: "actions" }, actions));
}

export async function renderStaffAbuse(main) {
  document.title = "Abuse · Staff desk · Coffre";
  const status = new URLSearchParams(location.search).get("status") ?? "open";
  const list = h("div", { id: "abuse-reports", "aria-live": "polite" });
  const filter = h("select", { id: "abuse-status" }, STATUSES.map(([v, label]) => h("option", { value: v, selected: v === status }, label)));
  const load = async () => {
    try {
      const { reports } = await staff.reports(app.api, filter.value || undefined);
      replace(list, reports.length ? reports.map((r) => reportCard(r, load)) : h("p", { class: "empty" }, "No reports here."));
    } catch (error) {
      replace(list, h("p", { class: "form-error", role: "alert" }, describe(error)));
    }
  };
  filter.addEventListener("change", () => {
    history.replaceState(null, "", `/staff/abuse?status=${encodeURIComponent(filter.value)}`);
    load();
  });
  replace(main, staffNav("abuse"), h("h1", {}, "Abuse reports"),
    h("p", { class: "notice banner no-content", role: "note" }, NO_CONTENT,
      " Reports name a link; nobody here can open it without its key, which reporters are told not to send."),
    h("div", { class: "toolbar" }, h("label", { for: "abuse-status" }, "Show"), filter),
    list);
  await load();
}
