//! Reading a message that arrived from outside (RFC 5322 bytes, any MIME shape, any
//! charset) into what Ferry stores and shows: headers, addresses, the text body (for
//! search and snippets), the HTML body, attachments' metadata. Parsing is `mail-parser`'s,
//! which accepts what the standards allow and a good deal of what they do not. The raw
//! bytes are always kept beside the result, so a message this cannot read is shown as
//! raw rather than dropped, and `problems` says what was odd.
//!
//! HTML is never shown as it came: [`sanitize_html`] strips scripts, forms, frames and
//! event handlers, and blocks remote content (images, styles that load URLs) until the
//! user allows it for that message.

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

/// The note on a message with a part in an encoding Ferry could not read.
pub(super) const ODD_ENCODING: &str =
    "part of the message is in an encoding Ferry could not read; it is shown as well as it could be";

/// A snippet's length, in characters.
pub const SNIPPET_CHARS: usize = 200;

/// One address from a header: display name (possibly empty) and the address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailAddress {
    pub name: String,
    pub address: String,
}

/// An attachment or inline part, described (its bytes stay in the raw message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    /// Its position among the message's attachments (for fetching it later).
    pub index: usize,
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    /// Shown within the body (`Content-Disposition: inline`, or referenced by `cid:`).
    pub inline: bool,
    pub content_id: Option<String>,
}

/// What Ferry keeps of a message besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedMail {
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    /// `In-Reply-To` and `References`, oldest first, without angle brackets.
    pub parents: Vec<String>,
    pub subject: String,
    pub from: Vec<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub date: Option<DateTime<Utc>>,
    /// The text body: the plain part, or the HTML part turned into text.
    pub text: String,
    /// The HTML body as sent (sanitise before showing: [`sanitize_html`]).
    pub html: Option<String>,
    pub snippet: String,
    pub attachments: Vec<AttachmentMeta>,
    /// What was odd about the message (an unknown charset, no body), for the log and a
    /// quiet note in the reading pane.
    pub problems: Vec<String>,
}

/// The outcome of reading a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Mail(Box<ParsedMail>),
    /// Nothing readable (empty input, or no header at all): keep and show the raw bytes.
    Unreadable {
        reason: String,
    },
}

pub(super) fn bare(id: &str) -> String {
    id.trim().trim_matches(|c| c == '<' || c == '>').to_owned()
}

fn addresses(value: Option<&Address<'_>>) -> Vec<MailAddress> {
    value
        .map(|a| {
            a.iter()
                .map(|addr| MailAddress {
                    name: addr.name().unwrap_or_default().trim().to_owned(),
                    address: addr.address().unwrap_or_default().trim().to_owned(),
                })
                .filter(|m| !m.address.is_empty() || !m.name.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::TextList(list) => list.iter().map(|id| bare(id)).collect(),
        HeaderValue::Text(id) => id.split_whitespace().map(bare).collect(),
        _ => Vec::new(),
    }
}

/// Reads `raw`. Never panics, whatever the input.
pub fn parse(raw: &[u8]) -> Parsed {
    match message_of(raw) {
        Ok(message) => Parsed::Mail(Box::new(read(&message))),
        Err(reason) => Parsed::Unreadable { reason },
    }
}

/// The message in `raw`, or why there is none to read.
fn message_of(raw: &[u8]) -> Result<Message<'_>, String> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err("the message is empty".into());
    }
    match MessageParser::default().parse(raw) {
        Some(message) if !message.headers().is_empty() => Ok(message),
        _ => Err("no message headers could be read".into()),
    }
}

/// The HTML body: only a real text/html part counts (mail-parser also renders plain parts
/// as HTML).
fn html_of(message: &Message<'_>) -> Option<String> {
    message
        .html_bodies()
        .find_map(|part| match &part.body {
            PartType::Html(html) => Some(html.to_string()),
            _ => None,
        })
        .filter(|h| !h.trim().is_empty())
}

/// The name of the `index`-th attachment, sent without one (`message`: an attached
/// message).
pub(super) fn unnamed(index: usize, message: bool) -> String {
    if message {
        "attached message.eml".to_owned()
    } else {
        format!("attachment-{}", index + 1)
    }
}

/// The message's attachments and inline parts, described, in mail-parser's order.
fn attachment_meta(message: &Message<'_>) -> Vec<AttachmentMeta> {
    message
        .attachments()
        .enumerate()
        .map(|(index, part)| AttachmentMeta {
            index,
            filename: part
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_else(|| unnamed(index, matches!(part.body, PartType::Message(_)))),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned())
                .to_ascii_lowercase(),
            size: part.contents().len(),
            inline: part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"))
                || part.content_id().is_some(),
            content_id: part.content_id().map(bare),
        })
        .collect()
}

fn read(message: &Message<'_>) -> ParsedMail {
    let mut problems = Vec::new();
    if message.parts.iter().any(|p| p.is_encoding_problem) {
        problems.push(ODD_ENCODING.to_owned());
    }
    let html = html_of(message);
    // Without a plain part, the text comes from the HTML one.
    let plain = message
        .text_bodies()
        .next()
        .is_some_and(|part| matches!(part.body, PartType::Text(_)));
    let text = match (&html, plain) {
        (Some(html), false) => html_text(html),
        _ => message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
    };
    if text.trim().is_empty() && html.is_none() && message.attachment_count() == 0 {
        problems.push("the message has no body".to_owned());
    }
    ParsedMail {
        snippet: snippet(&text),
        text,
        html,
        attachments: attachment_meta(message),
        problems,
        ..headers_of(message)
    }
}

/// What a message's headers say (the body's fields left empty).
pub(super) fn headers_of(message: &Message<'_>) -> ParsedMail {
    let mut parents = ids(message.references());
    for parent in ids(message.in_reply_to()) {
        if !parents.contains(&parent) {
            parents.push(parent);
        }
    }
    ParsedMail {
        message_id: message.message_id().map(bare),
        parents,
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        from: addresses(message.from()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        date: message
            .date()
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        ..ParsedMail::default()
    }
}

/// A part of a message, taken out of it: an attachment to open, or an inline image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartBytes {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The attachment at `index` (as [`AttachmentMeta::index`] numbers them).
pub fn attachment(raw: &[u8], index: usize) -> Option<PartBytes> {
    let message = MessageParser::default().parse(raw)?;
    let meta = attachment_meta(&message).into_iter().nth(index)?;
    let part = message.attachments().nth(index)?;
    Some(PartBytes {
        filename: meta.filename,
        content_type: meta.content_type,
        bytes: part.contents().to_vec(),
    })
}

/// What the reading pane shows of a message with an HTML body: the HTML, and the parts it
/// names by `cid:` (by Content-ID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlBody {
    pub html: String,
    pub inline: Vec<(String, PartBytes)>,
}

/// The HTML body of `raw` and its inline parts, from one reading of the message: `Ok(None)`
/// for a message without HTML, `Err` with the reason for one that cannot be read at all.
pub fn html_body(raw: &[u8]) -> Result<Option<HtmlBody>, String> {
    let message = message_of(raw)?;
    let Some(html) = html_of(&message) else {
        return Ok(None);
    };
    let inline = if html.contains("cid:") {
        attachment_meta(&message)
            .into_iter()
            .zip(message.attachments())
            .filter_map(|(meta, part)| {
                let cid = meta.content_id?;
                Some((
                    cid,
                    PartBytes {
                        filename: meta.filename,
                        content_type: meta.content_type,
                        bytes: part.contents().to_vec(),
                    },
                ))
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Some(HtmlBody { html, inline }))
}

/// The text of an HTML body (for the index and the snippet, where a message has HTML only).
/// Character references mail-parser leaves when they touch a word (`Gr&#246;&#223;e`) are
/// decoded here.
pub fn html_text(html: &str) -> String {
    decode_references(&mail_parser::decoders::html::html_to_text(html))
}

/// Decodes numeric character references (`&#246;`, `&#xF6;`) and the common named ones;
/// anything else is left as written.
fn decode_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let decoded = after.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &after[..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let code = match name.strip_prefix('#') {
                        Some(hex) if hex.starts_with(['x', 'X']) => {
                            u32::from_str_radix(&hex[1..], 16).ok()
                        }
                        Some(dec) => dec.parse().ok(),
                        None => None,
                    };
                    code.and_then(char::from_u32)
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The first words of a body, whitespace collapsed; quoted replies and signatures are
/// left in (a snippet is a glance, not a summary).
pub fn snippet(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(SNIPPET_CHARS)
        .collect()
}

/// Whether the reading pane loads remote content for a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteContent {
    Block,
    Allow,
}

/// HTML made safe to show: the markup, and how many remote resources were blocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeHtml {
    pub html: String,
    pub blocked: usize,
}

fn is_remote(url: &str) -> bool {
    let url = url.trim_start().to_ascii_lowercase();
    url.starts_with("http:") || url.starts_with("https:") || url.starts_with("//")
}

/// Strips everything that could run, submit, frame or phone home; with `Block`, remote
/// images and styles that load URLs are dropped and counted. `cid:` images stay (the
/// reading pane serves them from the message's own parts).
pub fn sanitize_html(html: &str, remote: RemoteContent) -> SafeHtml {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&blocked);
    let mut builder = ammonia::Builder::default();
    builder
        .add_generic_attributes(["style", "align", "valign", "bgcolor", "width", "height"])
        .add_tag_attributes("img", ["src", "alt", "width", "height"])
        .add_tag_attributes("td", ["colspan", "rowspan"])
        .add_tag_attributes("th", ["colspan", "rowspan"])
        .url_schemes(
            ["http", "https", "mailto", "cid", "tel"]
                .into_iter()
                .collect(),
        )
        .link_rel(Some("noopener noreferrer"))
        .attribute_filter(move |element, attribute, value| {
            let loads_url = match (element, attribute) {
                ("img", "src") => is_remote(value),
                (_, "style") => value.to_ascii_lowercase().contains("url("),
                (_, "background") => true,
                _ => false,
            };
            if loads_url && remote == RemoteContent::Block {
                counter.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            if attribute == "style" && value.to_ascii_lowercase().contains("expression(") {
                return None;
            }
            Some(value.into())
        });
    let html = builder.clean(html).to_string();
    SafeHtml {
        html,
        blocked: blocked.load(Ordering::Relaxed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(raw: &[u8]) -> ParsedMail {
        match parse(raw) {
            Parsed::Mail(mail) => *mail,
            Parsed::Unreadable { reason } => panic!("unreadable: {reason}"),
        }
    }

    #[test]
    fn headers_are_decoded_and_threads_are_read_from_references() {
        let parsed = mail(
            b"Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\nReferences: <root@x> <a@x>\r\n\
              From: =?UTF-8?B?SsO8cmdlbg==?= <j@example.de>\r\nTo: Ada <ada@example.com>, bob@example.com\r\n\
              Subject: =?ISO-8859-1?Q?Gr=FC=DFe?=\r\nDate: Mon, 30 Nov 2026 09:15:00 +0100\r\n\r\nHallo Ada\r\n",
        );
        assert_eq!(parsed.message_id.as_deref(), Some("b@x"));
        assert_eq!(parsed.parents, ["root@x", "a@x"]);
        assert_eq!(parsed.subject, "Grüße");
        assert_eq!(parsed.from[0].name, "Jürgen");
        assert_eq!(parsed.to.len(), 2);
        assert_eq!(parsed.date.map(|d| d.timestamp()), Some(1_796_026_500));
        assert_eq!(parsed.snippet, "Hallo Ada");
    }

    #[test]
    fn html_only_mail_reads_as_text_with_its_references_decoded() {
        let parsed = mail(
            b"Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Gr&#246;&#223;en &amp; <b>Caf&eacute;</b> &#x263A; &bogus; AT&T</p>\r\n",
        );
        assert_eq!(
            parsed.text.trim(),
            "Gr\u{f6}\u{df}en & Caf\u{e9} \u{263a} &bogus; AT&T"
        );
    }

    #[test]
    fn legacy_charsets_become_text() {
        let mut raw = b"Subject: x\r\nContent-Type: text/plain; charset=KOI8-R\r\n\r\n".to_vec();
        raw.extend([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4]); // "Привет" in KOI8-R
        assert_eq!(mail(&raw).text.trim(), "Привет");
        let mut latin =
            b"Subject: x\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\n".to_vec();
        latin.extend(b"caf\xe9 \x80");
        assert_eq!(mail(&latin).text.trim(), "café €");
        let mut japanese =
            b"Subject: x\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n".to_vec();
        japanese.extend([0x89, 0xef, 0x8b, 0x63]); // "会議" in Shift_JIS
        assert_eq!(mail(&japanese).text.trim(), "会議");
    }

    #[test]
    fn broken_and_empty_input_is_kept_not_lost() {
        assert!(matches!(parse(b""), Parsed::Unreadable { .. }));
        assert!(matches!(parse(b"   \r\n"), Parsed::Unreadable { .. }));
        let no_body = mail(b"Subject: only a subject\r\n\r\n");
        assert!(
            no_body.problems.iter().any(|p| p.contains("no body")),
            "{no_body:?}"
        );
        let unknown = mail(
            b"Subject: x\r\nContent-Type: text/plain; charset=x-unheard-of\r\n\r\nplain words\r\n",
        );
        assert!(
            unknown.text.contains("plain words"),
            "read as well as it can be"
        );
        // Garbage never panics.
        for n in 0..200u8 {
            let noise: Vec<u8> = (0..u16::from(n) * 7)
                .map(|i| (i as u8).wrapping_mul(n))
                .collect();
            let _ = parse(&noise);
        }
    }

    #[test]
    fn attachments_and_inline_images_are_described() {
        let raw = b"Subject: files\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>See <img src=\"cid:c1\"></p>\r\n\
--b\r\nContent-Type: image/png\r\nContent-ID: <c1>\r\nContent-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
--b\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"=?UTF-8?Q?Bericht_=C3=BC.pdf?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
--b--\r\n";
        let parsed = mail(raw);
        assert_eq!(parsed.attachments.len(), 2);
        let image = &parsed.attachments[0];
        assert!(image.inline && image.content_id.as_deref() == Some("c1"));
        assert_eq!(image.size, 8);
        let pdf = &parsed.attachments[1];
        assert_eq!(
            (pdf.filename.as_str(), pdf.content_type.as_str(), pdf.inline),
            ("Bericht ü.pdf", "application/pdf", false)
        );
        assert!(parsed.html.as_deref().is_some_and(|h| h.contains("cid:c1")));
    }

    #[test]
    fn every_message_of_a_generated_mailbox_reads_cleanly() {
        use ferry_sandbox::mail::generate::{mailbox, Spec};
        let letters = mailbox(&Spec {
            seed: 42,
            count: 300,
            owner: "ada@example.com".into(),
            also_to: vec!["ada@work.example".into()],
            newest_ms: 1_800_000_000_000,
            span_days: 365,
        });
        let mut with_html = 0;
        for letter in &letters {
            let parsed = mail(&letter.raw);
            assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
            assert!(!parsed.subject.is_empty() && parsed.message_id.is_some());
            assert!(!parsed.text.trim().is_empty(), "a body");
            if !letter.sent {
                assert!(parsed.to.iter().any(|a| a.address == "ada@work.example"));
            }
            assert!(!parsed.subject.contains("=?"), "encoded words decoded");
            with_html += usize::from(parsed.html.is_some());
        }
        assert!(with_html > 50, "{with_html} with HTML");
    }

    #[test]
    fn html_is_stripped_of_scripts_forms_and_remote_content_until_allowed() {
        let html = r#"<p onclick="steal()">Hi <a href="https://example.com">link</a></p>
<script>alert(1)</script><form action="https://evil.example"><input name="pw"></form>
<iframe src="https://evil.example"></iframe>
<img src="https://tracker.example/p.gif" width="1" height="1"><img src="cid:logo">
<div style="background: url(https://tracker.example/bg.png)">styled</div>
<div style="color: red">kept</div>"#;
        let safe = sanitize_html(html, RemoteContent::Block);
        for gone in [
            "script",
            "onclick",
            "<form",
            "<input",
            "iframe",
            "tracker.example",
            "url(",
        ] {
            assert!(!safe.html.contains(gone), "{gone} survived: {}", safe.html);
        }
        assert_eq!(safe.blocked, 2, "the pixel and the background");
        assert!(safe.html.contains("cid:logo") && safe.html.contains("color: red"));
        assert!(safe.html.contains("rel=\"noopener noreferrer\""));
        let allowed = sanitize_html(html, RemoteContent::Allow);
        assert!(allowed.html.contains("tracker.example/p.gif"));
        assert!(!allowed.html.contains("script") && allowed.blocked == 0);
    }
}
