//! A scripted browser for tests: it loads the authorization URL, fills in the sign-in
//! form, unticks chosen scopes on the consent form, clicks Allow or Deny, and returns the
//! redirect the browser would follow. It submits the same HTML forms a person would, so a
//! change to those pages breaks the tests that rely on them.

use reqwest::redirect::Policy;
use reqwest::{StatusCode, Url};
use scraper::{ElementRef, Html, Selector};

#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub password: String,
    /// Scopes whose consent checkbox to untick (Google's granular consent).
    pub untick: Vec<String>,
    /// Click Allow (true) or Deny/Cancel (false).
    pub allow: bool,
}

impl Person {
    pub fn new(email: &str, password: &str) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
            untick: Vec::new(),
            allow: true,
        }
    }

    pub fn untick(mut self, scope: &str) -> Self {
        self.untick.push(scope.into());
        self
    }

    pub fn deny(mut self) -> Self {
        self.allow = false;
        self
    }
}

/// `url` with one query parameter's value changed (or added, from ""), the others as they were: how tests
/// (and the scripted browser) alter a redirect on its way back, as an attacker could.
pub fn with_param(url: &Url, name: &str, change: impl Fn(&str) -> String) -> Url {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let value = if k == name {
                change(&v)
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect();
    if !pairs.iter().any(|(k, _)| k == name) {
        pairs.push((name.to_owned(), change("")));
    }
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

/// Where the flow ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider redirected the browser here (to the app's redirect URI).
    Redirect(Url),
    /// The provider showed an error page instead of redirecting.
    ErrorPage { code: String, text: String },
}

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("the page had no {0}")]
    Missing(&'static str),
    #[error("sign-in was refused: {0}")]
    SignInRefused(String),
    #[error("bad URL: {0}")]
    Url(#[from] url::ParseError),
}

pub struct Browser {
    http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap_or_default();
        Self { http }
    }

    /// Runs the whole flow as `person` and returns where the provider sent the browser.
    pub async fn authorize(
        &self,
        authorization_url: &str,
        person: &Person,
    ) -> Result<Outcome, BrowserError> {
        let start = Url::parse(authorization_url)?;
        let response = self.http.get(start.clone()).send().await?;
        let (page, url) = match Self::settle(response).await? {
            Step::Done(outcome) => return Ok(outcome),
            Step::Page(page, url) => (page, url),
        };

        // Sign in.
        let form = FormData::find(&page, "email")?;
        let mut fields = form.fields;
        set(&mut fields, "email", &person.email);
        set(&mut fields, "password", &person.password);
        let response = self
            .http
            .post(url.join(&form.action)?)
            .form(&fields)
            .send()
            .await?;
        let (page, url) = match Self::settle(response).await? {
            Step::Done(outcome) => return Ok(outcome),
            Step::Page(page, url) => (page, url),
        };
        if let Ok(again) = FormData::find(&page, "password") {
            let _ = again;
            let alert = first_text(&page, "[role=alert]").unwrap_or_default();
            return Err(BrowserError::SignInRefused(alert));
        }

        // Consent.
        let form = FormData::find(&page, "decision")?;
        let mut fields: Vec<(String, String)> = form
            .fields
            .into_iter()
            .filter(|(name, value)| !(name == "scope" && person.untick.contains(value)))
            .collect();
        fields.push((
            "decision".into(),
            if person.allow { "allow" } else { "deny" }.into(),
        ));
        let response = self
            .http
            .post(url.join(&form.action)?)
            .form(&fields)
            .send()
            .await?;
        match Self::settle(response).await? {
            Step::Done(outcome) => Ok(outcome),
            Step::Page(..) => Err(BrowserError::Missing("redirect after consent")),
        }
    }

    async fn settle(response: reqwest::Response) -> Result<Step, BrowserError> {
        let url = response.url().clone();
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or(BrowserError::Missing("Location header"))?;
            return Ok(Step::Done(Outcome::Redirect(url.join(location)?)));
        }
        let body = response.text().await?;
        let page = Html::parse_document(&body);
        if let Some(code) = first_attr(&page, "[data-error]", "data-error") {
            let text = first_text(&page, "body").unwrap_or_default();
            return Ok(Step::Done(Outcome::ErrorPage { code, text }));
        }
        if status != StatusCode::OK {
            return Ok(Step::Done(Outcome::ErrorPage {
                code: status.as_u16().to_string(),
                text: body,
            }));
        }
        Ok(Step::Page(page, url))
    }
}

enum Step {
    Done(Outcome),
    Page(Html, Url),
}

/// A form's action and the fields a browser would submit (checked boxes, hidden inputs).
struct FormData {
    action: String,
    fields: Vec<(String, String)>,
}

impl FormData {
    /// The first form that has a control named `name`.
    fn find(page: &Html, name: &str) -> Result<Self, BrowserError> {
        let forms = Selector::parse("form").map_err(|_| BrowserError::Missing("form"))?;
        let controls =
            Selector::parse("input, button").map_err(|_| BrowserError::Missing("input"))?;
        for form in page.select(&forms) {
            let inputs: Vec<ElementRef> = form.select(&controls).collect();
            if !inputs.iter().any(|i| i.value().attr("name") == Some(name)) {
                continue;
            }
            let fields = inputs
                .iter()
                .filter(|i| i.value().name() == "input")
                .filter(|i| match i.value().attr("type").unwrap_or("text") {
                    "checkbox" | "radio" => i.value().attr("checked").is_some(),
                    "submit" | "button" => false,
                    _ => true,
                })
                .filter_map(|i| {
                    let name = i.value().attr("name")?;
                    Some((
                        name.to_owned(),
                        i.value().attr("value").unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            return Ok(Self {
                action: form.value().attr("action").unwrap_or_default().to_owned(),
                fields,
            });
        }
        Err(BrowserError::Missing("expected form"))
    }
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_owned(), value.to_owned()));
}

fn first_attr(page: &Html, selector: &str, attr: &str) -> Option<String> {
    let selector = Selector::parse(selector).ok()?;
    page.select(&selector)
        .next()?
        .value()
        .attr(attr)
        .map(str::to_owned)
}

fn first_text(page: &Html, selector: &str) -> Option<String> {
    let selector = Selector::parse(selector).ok()?;
    Some(
        page.select(&selector)
            .next()?
            .text()
            .collect::<Vec<_>>()
            .join(" "),
    )
}
