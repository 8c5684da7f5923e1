// The staff desk's Accounts page (/staff/accounts): a caller reads out their support code,
// the agent enters it here and sees the account's facts. The code works once.

import { app } from "../../main.js";
import { humanDate, humanSize } from "../../format.js";
import { staff } from "../../safety.js";
import { describe, h, replace } from "../../ui.js";
import { staffNav } from "./desk.js";

export const NO_CONTENT = "Coffre staff never see names, contents or keys: the server has none of them. " +
  "These facts are all there is to see of an account.";

const FACTS = [
  ["email", "Email", (v) => v],
  ["user_id", "Account id", (v) => v],
  ["role", "Role", (v) => v],
  ["plan", "Plan", (v) => v],
  ["storage_used", "Storage used", (v) => humanSize(v)],
  ["storage_quota", "Storage quota", (v) => humanSize(v)],
  ["transfer_used", "Link transfer used", (v) => humanSize(v)],
  ["transfer_quota", "Link transfer quota", (v) => humanSize(v)],
  ["sessions", "Sessions", (v) => String(v)],
  ["created", "Signed up", (v) => humanDate(v * 1000)],
  ["two_factor", "Two-factor authentication", (v) => (v ? "on" : "off")],
  ["strikes", "Abuse strikes", (v) => String(v)],
  ["sharing_suspended", "Sharing suspended", (v) => (v ? "yes" : "no")],
];

/** The account facts as a list; `omit` leaves some out, `id` names the list. */
export function factsList(facts, { omit = [], id = "account-facts" } = {}) {
  return h("dl", { class: "facts", id },
    FACTS.filter(([key]) => key in facts && !omit.includes(key))
      .map(([key, label, format]) => [h("dt", {}, label), h("dd", { dataset: { key } }, format(facts[key]))]));
}

export async function renderStaffAccounts(main) {
  document.title = "Accounts · Staff desk · Coffre";
  const out = h("div", { "aria-live": "polite" });
  const error = h("p", { class: "form-error", role: "alert", id: "support-code-error" });
  const input = h("input", { id: "support-code-input", name: "code", type: "text", inputmode: "numeric", autocomplete: "off", required: true, spellcheck: "false", placeholder: "123-456-789" });
  const submit = h("button", { type: "submit", class: "button primary" }, "Open the account's facts");
  const form = h("form", { class: "stack", "aria-describedby": "support-code-error" },
    h("div", { class: "field" }, h("label", { for: "support-code-input" }, "Support code the caller reads out"), input,
      h("p", { class: "hint" }, "Nine digits, made in the caller's account in the last 15 minutes. It works once.")),
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      const facts = await staff.verifyCode(app.api, input.value.trim());
      form.reset();
      replace(out, h("section", { class: "card", "aria-labelledby": "facts-title" },
        h("h2", { id: "facts-title" }, "The caller's account"), factsList(facts)));
    } catch (err) {
      error.textContent = err.code === "support_code_invalid"
        ? "No such code: it is wrong, expired or already used. Ask the caller to make a new one."
        : describe(err);
    } finally {
      submit.disabled = false;
    }
  });
  replace(main, staffNav("accounts"), h("h1", {}, "Accounts"),
    h("p", { class: "notice banner no-content", role: "note", id: "no-content" }, NO_CONTENT),
    form, out);
  input.focus();
}
