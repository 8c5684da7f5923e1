// /abuse: the form to report a public link (abuse, or a copyright notice with the
// statements the law asks for), and /transparency: the service's aggregate counts. Both
// for anyone, signed in or not. The link's key (after #) is dropped before sending.

import { Api } from "../api.js";
import { abuse, linkWithoutKey } from "../safety.js";
import { describe, h, iconImg, replace } from "../ui.js";

function page(...children) {
  return h("main", { id: "main", tabindex: "-1", class: "auth abuse" },
    h("div", { class: "auth-card wide" }, h("p", { class: "brand" }, iconImg("lock", "brand-icon"), " Coffre"), children));
}

function field(id, label, input, hint = null) {
  input.id = id;
  input.name = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint" }, hint) : null);
}

function check(id, label) {
  const input = h("input", { id, name: id, type: "checkbox" });
  return [input, h("div", { class: "field check" }, input, h("label", { for: id }, label))];
}

export function renderAbuse() {
  document.title = "Report abuse or infringement · Coffre";
  const linkId = new URLSearchParams(location.search).get("link") || "";
  const name = h("input", { type: "text", required: true, maxlength: 200, autocomplete: "name" });
  const email = h("input", { type: "email", required: true, maxlength: 254, autocomplete: "email" });
  const link = h("input", { type: "text", required: true, maxlength: 2000, spellcheck: "false", value: /^[0-9a-f]{32}$/.test(linkId) ? `${location.origin}/s/${linkId}` : "" });
  const kind = h("select", { required: true },
    h("option", { value: "copyright" }, "Copyright infringement"),
    h("option", { value: "harm" }, "Harmful or illegal content"),
    h("option", { value: "other" }, "Something else"));
  const description = h("textarea", { required: true, rows: 5, maxlength: 5000 });
  const work = h("textarea", { rows: 3, maxlength: 2000 });
  const signature = h("input", { type: "text", maxlength: 200, autocomplete: "name" });
  const [goodFaith, goodFaithField] = check("abuse-good-faith", "I have a good-faith belief that the use of the material is not authorised by the copyright owner, its agent or the law.");
  const [accurate, accurateField] = check("abuse-accurate", "The information in this notice is accurate, and under penalty of perjury, I am the owner of the right or authorised to act on the owner's behalf.");
  const [authorised, authorisedField] = check("abuse-authorised", "I am authorised to act for the owner of the exclusive right that is allegedly infringed.");
  const copyright = h("fieldset", { class: "stack", id: "abuse-copyright" },
    h("legend", {}, "For a copyright notice"),
    field("abuse-work", "The copyrighted work (what it is, and where the original is)", work),
    goodFaithField, accurateField, authorisedField,
    field("abuse-signature", "Signature (your full name)", signature));
  const syncKind = () => { copyright.hidden = kind.value !== "copyright"; };
  kind.addEventListener("change", syncKind);
  syncKind();
  const error = h("p", { class: "form-error", role: "alert", id: "abuse-error" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Send report");
  const form = h("form", { class: "auth-form", "aria-describedby": "abuse-error" },
    field("abuse-name", "Your name", name),
    field("abuse-email", "Your email address", email, "We answer there. The owner of the link is not given it."),
    field("abuse-link", "The link", link, "Its address. Leave out anything after #: that is the key, and nobody at Coffre needs it or can use it."),
    field("abuse-kind", "What is wrong", kind),
    field("abuse-description", "Describe the material and the harm or infringement", description),
    copyright, error, submit);
  const main = page(h("h1", {}, "Report a link"),
    h("p", {}, "Coffre cannot see what is in a file or folder: everything is encrypted before it reaches us. We act on reports about public links: we can disable a link, and every link to the same stored file, after reviewing the report. The owner is told and may answer."),
    form,
    h("p", {}, h("a", { href: "/transparency", "data-link": "" }, "How many reports we handle")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = {
      reporter_name: name.value.trim(),
      reporter_email: email.value.trim(),
      link: linkWithoutKey(link.value),
      kind: kind.value,
      description: description.value,
    };
    if (kind.value === "copyright") {
      Object.assign(body, { work: work.value, good_faith: goodFaith.checked, accurate: accurate.checked, authorised: authorised.checked, signature: signature.value.trim() });
    }
    submit.disabled = true;
    try {
      const made = await abuse.report(new Api(), body);
      replace(main.firstChild,
        h("p", { class: "brand" }, iconImg("lock", "brand-icon"), " Coffre"),
        h("h1", {}, "Thank you: your report was received"),
        h("p", { id: "abuse-received" }, "Reference ", h("code", {}, made.id), ". We review every report and answer at the address you gave."));
      main.dataset.state = "sent";
    } catch (err) {
      error.textContent = err.code === "notice_incomplete"
        ? "A copyright notice needs the work, the three statements and your signature."
        : describe(err);
      submit.disabled = false;
    }
  });
  queueMicrotask(() => name.focus());
  return main;
}

const COUNTS = [
  ["notices", "Reports and notices received"],
  ["copyright_notices", "Copyright notices"],
  ["harm_reports", "Reports of harmful content"],
  ["other_reports", "Other reports"],
  ["dismissed", "Reports dismissed without action"],
  ["links_disabled", "Links disabled"],
  ["counter_notices", "Counter-notices from owners"],
  ["restored", "Links restored"],
  ["accounts_suspended", "Accounts with sharing suspended now"],
];

export function renderTransparency() {
  document.title = "Transparency · Coffre";
  const table = h("p", { role: "status" }, "Loading…");
  const main = page(h("h1", {}, "Transparency"),
    h("p", {}, "What we did about reports of abuse and copyright infringement, in total since this service began. Nothing here is about any one person, file or link."),
    table,
    h("p", {}, h("a", { href: "/abuse", "data-link": "" }, "Report a link")));
  abuse.transparency(new Api()).then((counts) => {
    replace(table, h("table", { class: "table", id: "transparency" },
      h("tbody", {}, COUNTS.map(([key, label]) => h("tr", { dataset: { key } }, h("th", { scope: "row" }, label), h("td", {}, String(counts[key])))))));
  }).catch((error) => { table.textContent = describe(error); });
  return main;
}
