//! The sandbox's HTML pages: sign-in, consent and errors. Every page says plainly that it
//! is the Ferry sandbox, not Google or Microsoft.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::world::Provider;

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1c2330}\
.banner{background:#fff3cd;border:1px solid #f0d58a;padding:.5rem .75rem;border-radius:6px;font-size:.9rem}\
label{display:block;margin:.5rem 0}input[type=email],input[type=password]{width:100%;padding:.4rem}\
.error{color:#b00020}button{padding:.5rem 1rem;margin-right:.5rem}";

pub fn page(provider: Provider, title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} - Ferry sandbox</title>\
         <style>{STYLE}</style></head><body>\
         <p class=\"banner\" data-sandbox=\"ferry\">This is the <strong>Ferry sandbox</strong>, a local \
         stand-in for {provider}. It is not {provider}, and nothing you enter leaves this computer.</p>\
         <h1>{title}</h1>{body}</body></html>",
        title = text(title),
        provider = provider.display_name(),
    )
}

pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        attr(name),
        attr(value)
    )
}

pub fn escape(value: &str) -> String {
    text(value).into_owned()
}

pub fn escape_attr(value: &str) -> String {
    attr(value).into_owned()
}

/// The sign-in form: email and password, posted back with the pending flow's id.
pub fn sign_in(
    provider: Provider,
    action: &str,
    flow: &str,
    client: &str,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", text(e)))
        .unwrap_or_default();
    page(
        provider,
        "Sign in",
        &format!(
            "<p>to continue to <strong>{client}</strong></p>{error}\
             <form method=\"post\" action=\"{action}\">{flow}\
             <label>Email <input type=\"email\" name=\"email\" autocomplete=\"username\" required></label>\
             <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\
             <button type=\"submit\">Next</button></form>",
            client = text(client),
            action = attr(action),
            flow = hidden("flow", flow),
        ),
    )
}

/// An error page shown instead of redirecting (the client or redirect URI is not trusted).
pub fn error(provider: Provider, code: &str, detail: &str) -> String {
    page(
        provider,
        "Access blocked",
        &format!(
            "<p class=\"error\" data-error=\"{}\">Error 400: {}</p><p>{}</p>",
            attr(code),
            text(code),
            text(detail)
        ),
    )
}

/// Adds the sandbox's own accounts (email and password) to a sign-in page, so a person
/// trying Ferry's demo knows what to type; each account may carry a short note.
pub fn with_demo_accounts(page: String, accounts: &[(String, String, Option<&str>)]) -> String {
    if accounts.is_empty() {
        return page;
    }
    let items: String = accounts
        .iter()
        .map(|(email, password, note)| {
            let note = note.map(|n| format!(" ({})", text(n))).unwrap_or_default();
            format!(
                "<li><code>{}</code>{note}, password <code>{}</code></li>",
                text(email),
                text(password)
            )
        })
        .collect();
    page.replace(
        "</body>",
        &format!("<details><summary>Sandbox accounts</summary><ul>{items}</ul></details></body>"),
    )
}
