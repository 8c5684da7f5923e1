// Account page sections: two-factor authentication (TOTP), support codes, and notices of
// links disabled after a report (with the counter-notice form). Every value shown is set
// as text.

import { app } from "../main.js";
import { humanDate } from "../format.js";
import { describe, h, notify, notifyError, replace } from "../ui.js";
import { notices, supportCode, twoFactor } from "../safety.js";

function codeForm(id, label, button, onCode) {
  const error = h("p", { class: "form-error", role: "alert" });
  const input = h("input", { id, name: id, type: "text", inputmode: "numeric", autocomplete: "one-time-code", required: true, spellcheck: "false" });
  const submit = h("button", { type: "submit", class: "button primary" }, button);
  const form = h("form", { class: "stack" }, h("div", { class: "field" }, h("label", { for: id }, label), input), error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      await onCode(input.value.trim());
    } catch (err) {
      error.textContent = describe(err);
      input.select();
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

export function twoFactorSection() {
  const body = h("div", { id: "two-factor-box" });
  const section = h("section", { "aria-labelledby": "two-factor-title", class: "card", id: "two-factor" },
    h("h2", { id: "two-factor-title" }, "Two-factor authentication"),
    h("p", {}, "With it on, logging in also asks for a six-digit code from an authenticator app on your phone."),
    body);
  const draw = async () => {
    let status;
    try {
      status = await twoFactor.status(app.api);
    } catch (error) {
      notifyError(error);
      return;
    }
    if (status.enabled) {
      replace(body,
        h("p", { id: "two-factor-state" }, `On. ${status.recovery_codes_left} recovery code${status.recovery_codes_left === 1 ? "" : "s"} left.`),
        codeForm("two-factor-off-code", "Current code (or a recovery code)", "Turn off", async (code) => {
          await twoFactor.disable(app.api, code);
          notify("Two-factor authentication is off.");
          await draw();
        }));
      return;
    }
    replace(body,
      h("p", { id: "two-factor-state" }, "Off."),
      h("button", { type: "button", class: "button", id: "two-factor-on", onclick: async () => {
        let begun;
        try {
          begun = await twoFactor.begin(app.api);
        } catch (error) {
          notifyError(error);
          return;
        }
        replace(body,
          h("p", {}, "Add this secret to your authenticator app (type it in, or open the otpauth link on the phone), then enter the code the app shows."),
          h("dl", { class: "facts" },
            h("dt", {}, "Secret"), h("dd", {}, h("code", { id: "two-factor-secret", class: "recovery-key" }, begun.secret)),
            h("dt", {}, "otpauth URI"), h("dd", {}, h("code", { id: "two-factor-uri", class: "wrap" }, begun.uri))),
          codeForm("two-factor-code", "Code from the app", "Turn on", async (code) => {
            const enabled = await twoFactor.confirm(app.api, code);
            replace(body,
              h("p", { id: "two-factor-state", role: "status" }, "On. Save these recovery codes: each logs you in once if you lose your phone."),
              h("ul", { id: "two-factor-recovery", class: "codes" }, enabled.recovery_codes.map((c) => h("li", {}, h("code", {}, c)))),
              h("button", { type: "button", class: "button", onclick: draw }, "Done"));
          }));
        body.querySelector("#two-factor-code").focus();
      } }, "Turn on"));
  };
  draw();
  return section;
}

export function supportCodeSection() {
  const out = h("div", { id: "support-code-box", "aria-live": "polite" });
  return h("section", { "aria-labelledby": "support-code-title", class: "card" },
    h("h2", { id: "support-code-title" }, "Support code"),
    h("p", {}, "When you call Coffre support, read this code to the agent: it proves the call is yours. They then see your plan, usage, quota, number of sessions and sign-up date. Never your files, names or keys: the server has none of them, and nobody at Coffre will ask for your password or recovery key."),
    h("button", { type: "button", class: "button", id: "support-code-make", onclick: async () => {
      try {
        const made = await supportCode(app.api);
        replace(out,
          h("p", {}, h("code", { id: "support-code", class: "recovery-key" }, made.code)),
          h("p", { class: "hint" }, `Works once, until ${humanDate(made.expires_at * 1000)}.`));
      } catch (error) {
        notifyError(error);
      }
    } }, "Make a support code"),
    out);
}

const NOTICE_TEXT = {
  link_disabled: (n) => `${n.links} link${n.links === 1 ? " was" : "s were"} disabled after a report.`,
  link_restored: (n) => `${n.links} link${n.links === 1 ? " works" : "s work"} again.`,
};

function counterForm(notice, redraw) {
  const id = `counter-${notice.id}`;
  const error = h("p", { class: "form-error", role: "alert" });
  const statement = h("textarea", { id: `${id}-statement`, required: true, rows: 4, maxlength: 5000 });
  const signature = h("input", { id: `${id}-signature`, type: "text", required: true, maxlength: 200 });
  const faith = h("input", { id: `${id}-faith`, type: "checkbox", required: true });
  const form = h("form", { class: "stack" },
    h("div", { class: "field" }, h("label", { for: `${id}-statement` }, "Why the material was disabled by mistake"), statement),
    h("div", { class: "field check" }, faith, h("label", { for: `${id}-faith` }, "I state in good faith, under penalty of perjury, that it was removed or disabled by mistake or misidentification.")),
    h("div", { class: "field" }, h("label", { for: `${id}-signature` }, "Signature (your full name)"), signature),
    error, h("button", { type: "submit", class: "button" }, "Send counter-notice"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await notices.counter(app.api, notice.id, { statement: statement.value, signature: signature.value, good_faith: faith.checked });
      notify("Counter-notice sent.");
      redraw();
    } catch (err) {
      error.textContent = describe(err);
    }
  });
  return form;
}

export function noticesSection() {
  const section = h("section", { "aria-labelledby": "notices-title", class: "card", id: "notices-card", hidden: true });
  const draw = async () => {
    let list;
    try {
      list = await notices.list(app.api);
    } catch (error) {
      notifyError(error);
      return;
    }
    if (!list.notices.length && !list.sharing_suspended) return;
    section.hidden = false;
    replace(section,
      h("h2", { id: "notices-title" }, "Notices"),
      list.sharing_suspended ? h("p", { class: "notice notice-error", role: "alert" },
        "After repeated reports, this account may not create links or share folders for now.") : null,
      h("ul", { class: "notice-list" }, list.notices.map((n) => h("li", { dataset: { id: n.id } },
        h("p", {}, `${humanDate(n.created * 1000)}: `, (NOTICE_TEXT[n.kind] || (() => n.kind))(n),
          n.restore_at ? ` They work again on ${humanDate(n.restore_at * 1000)} unless the reporter takes it further.` : ""),
        n.kind === "link_disabled" && !n.countered ? counterForm(n, draw) : null,
        n.countered ? h("p", { class: "hint" }, "You sent a counter-notice.") : null))));
  };
  draw();
  return section;
}
