// Sign up, log in, and recover with the recovery key. The password is stretched in a Web
// Worker (Argon2id, 64 MiB): the page stays responsive while a status line says so.

import { app } from "../main.js";
import * as session from "../session.js";
import { describe, h, iconImg } from "../ui.js";

function field(id, label, attrs, hint = null) {
  const hintId = hint ? `${id}-hint` : null;
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    h("input", { id, name: id, "aria-describedby": hintId, ...attrs }),
    hint ? h("p", { id: hintId, class: "hint" }, hint) : null);
}

const TEXT = {
  login: { title: "Log in to Coffre", button: "Log in", busy: "Checking your password… (your password never leaves this browser)" },
  signup: { title: "Create your Coffre account", button: "Create account", busy: "Creating your keys… (your password never leaves this browser)" },
  recover: { title: "Reset your password with your recovery key", button: "Set new password", busy: "Checking your recovery key…" },
};

export function renderAuth(mode) {
  const text = TEXT[mode];
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const error = h("p", { class: "form-error", role: "alert", id: "auth-error" });
  const fields = [field("email", "Email", { type: "email", required: true, autocomplete: "username", spellcheck: "false" })];
  let codeField = null;
  if (mode === "login") {
    fields.push(field("password", "Password", { type: "password", required: true, autocomplete: "current-password" }));
    codeField = field("totp", "Two-factor code", { type: "text", inputmode: "numeric", autocomplete: "one-time-code", spellcheck: "false" },
      "The six digits your authenticator app shows now, or one of your recovery codes.");
    codeField.hidden = true;
    fields.push(codeField);
  } else if (mode === "signup") {
    fields.push(
      field("password", "Password", { type: "password", required: true, minlength: 8, autocomplete: "new-password" },
        "At least 8 characters. Nobody can reset it for you: keep your recovery key."),
      field("confirm", "Repeat the password", { type: "password", required: true, autocomplete: "new-password" }),
    );
  } else {
    fields.push(
      field("recovery", "Recovery key", { type: "text", required: true, autocomplete: "off", spellcheck: "false" },
        "55 letters and digits in groups of five, as shown when you saved it."),
      field("password", "New password", { type: "password", required: true, minlength: 8, autocomplete: "new-password" }),
      field("confirm", "Repeat the new password", { type: "password", required: true, autocomplete: "new-password" }),
    );
  }
  const submit = h("button", { type: "submit", class: "button primary" }, text.button);
  const form = h("form", { class: "auth-form", "aria-describedby": "auth-error", novalidate: false }, fields, error, submit, status);

  // With two-factor authentication on, the server asks for a code after the password: the
  // code field appears and the login goes on when the form is sent again.
  let waitingCode = null;
  const codeInput = () => form.querySelector("#totp");
  const askCode = () => new Promise((resolve) => {
    codeField.hidden = false;
    codeInput().required = true;
    status.textContent = "Enter the code from your authenticator app.";
    submit.disabled = false;
    form.removeAttribute("aria-busy");
    codeInput().focus();
    waitingCode = resolve;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (waitingCode) {
      const resolve = waitingCode;
      waitingCode = null;
      submit.disabled = true;
      form.setAttribute("aria-busy", "true");
      status.textContent = "Checking the code…";
      resolve(codeInput().value.trim());
      return;
    }
    const data = new FormData(form);
    const email = String(data.get("email")).trim();
    const password = String(data.get("password"));
    if (mode !== "login" && password !== String(data.get("confirm"))) {
      error.textContent = "The two passwords differ.";
      form.querySelector("#confirm").focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    status.textContent = text.busy;
    try {
      let result;
      if (mode === "login") {
        const totp = codeField.hidden ? null : codeInput().value.trim() || null;
        result = await session.login(app.api, email, password, { totp, askCode });
      }
      else if (mode === "signup") result = await session.signup(app.api, email, password);
      else result = await session.recover(app.api, email, String(data.get("recovery")), password);
      app.api.token = result.response.token;
      session.save(result.response, result.keys);
      status.textContent = "Opening your files…";
      await app.signedIn(result.keys, result.response.session_id);
      await app.navigate(mode === "signup" ? "/account?welcome=1" : "/files", { replace: true });
    } catch (err) {
      app.api.token = null;
      error.textContent = describe(err);
      status.textContent = "";
      submit.disabled = false;
      form.removeAttribute("aria-busy");
      if (codeField && !codeField.hidden) codeInput().select();
      form.querySelector(mode === "recover" ? "#recovery" : codeField && !codeField.hidden ? "#totp" : "#password").focus();
    }
  });

  const links = {
    login: [h("a", { href: "/signup", "data-link": "" }, "Create an account"), " · ", h("a", { href: "/recover", "data-link": "" }, "Forgot your password?")],
    signup: [h("a", { href: "/login", "data-link": "" }, "I have an account: log in")],
    recover: [h("a", { href: "/login", "data-link": "" }, "Back to log in")],
  }[mode];
  const page = h("main", { id: "main", tabindex: "-1", class: "auth" },
    h("div", { class: "auth-card" },
      h("p", { class: "brand" }, iconImg("lock", "brand-icon"), " Coffre"),
      h("h1", {}, text.title),
      h("p", { class: "lead" }, "End-to-end encrypted storage: your files are encrypted in this browser, and the server never holds a key."),
      form,
      h("p", { class: "auth-links" }, links)));
  queueMicrotask(() => page.querySelector("#email")?.focus());
  document.title = `${text.button} · Coffre`;
  return page;
}
