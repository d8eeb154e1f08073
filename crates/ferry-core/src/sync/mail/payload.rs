//! Reading Gmail's `format=full` resource for a message: what a conversation fetched with
//! `threads.get` brings (that method has no raw format). The resource holds the message's
//! headers, its part tree and the decoded bytes of its text parts; attachments and most
//! inline images are named by an `attachmentId` and fetched from Gmail when opened.
//!
//! Headers are read by mail-parser, the same as a raw message's, so addresses, dates and
//! encoded words read alike whichever way a message came. A text part's bytes are taken as
//! UTF-8 when they are UTF-8, else in the charset its `Content-Type` names.

use mail_parser::MessageParser;
use serde_json::Value;

use super::parse::{
    bare, headers_of, html_text, snippet, unnamed, AttachmentMeta, Parsed, ParsedMail, ODD_ENCODING,
};
use crate::providers::google::gmail::base64url;

/// One leaf of the part tree that is not the message's text or HTML body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GmailPart {
    pub meta: AttachmentMeta,
    /// The bytes, when Gmail sent them with the message.
    pub data: Option<Vec<u8>>,
    /// Else what `attachments.get` fetches them by.
    pub attachment_id: Option<String>,
}

/// A message's body and other parts, in the part tree's order.
#[derive(Debug, Default)]
struct Walked {
    text: Option<String>,
    html: Option<String>,
    parts: Vec<GmailPart>,
    problems: Vec<String>,
}

fn header<'a>(part: &'a Value, name: &str) -> Option<&'a str> {
    part["headers"].as_array()?.iter().find_map(|h| {
        h["name"]
            .as_str()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .and(h["value"].as_str())
    })
}

/// The `charset` parameter of a `Content-Type` value.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// A text part's bytes as text, and whether they could be read in their charset (if not,
/// they are read as well as they could be, and the caller notes it).
fn text_of(bytes: Vec<u8>, content_type: Option<&str>) -> (String, bool) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, true),
        Err(err) => {
            let bytes = err.into_bytes();
            let decoder = content_type
                .and_then(charset)
                .and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()));
            match decoder {
                Some(decode) => (decode(&bytes), true),
                None => (String::from_utf8_lossy(&bytes).into_owned(), false),
            }
        }
    }
}

fn walk(part: &Value, out: &mut Walked) {
    let mime = part["mimeType"]
        .as_str()
        .unwrap_or("text/plain")
        .to_ascii_lowercase();
    if let Some(children) = part["parts"]
        .as_array()
        .filter(|_| mime.starts_with("multipart/"))
    {
        for child in children {
            walk(child, out);
        }
        return;
    }
    let filename = part["filename"].as_str().unwrap_or_default();
    let attachment_id = part["body"]["attachmentId"].as_str().map(str::to_owned);
    let disposition = header(part, "Content-Disposition")
        .unwrap_or_default()
        .trim_start()
        .to_ascii_lowercase();
    let content_id = header(part, "Content-ID").map(bare);
    let data = part["body"]["data"].as_str().map(|d| base64url(d).ok());
    if data == Some(None) {
        out.problems
            .push("a part of the message came damaged from Gmail; it is left out".to_owned());
    }
    let data = data.flatten();
    let body_kind =
        (filename.is_empty() && attachment_id.is_none() && !disposition.starts_with("attachment"))
            .then_some(mime.as_str());
    let content_type = header(part, "Content-Type");
    // The first plain and the first HTML part are the body; every other leaf is a part.
    let slot = match body_kind {
        Some("text/plain") => Some(&mut out.text),
        Some("text/html") => Some(&mut out.html),
        _ => None,
    }
    .filter(|slot| slot.is_none());
    match (slot, data) {
        (Some(slot), Some(bytes)) => {
            let (text, known) = text_of(bytes, content_type);
            if !known {
                out.problems.push(ODD_ENCODING.to_owned());
            }
            *slot = Some(text);
        }
        (_, data) => {
            let index = out.parts.len();
            let size = part["body"]["size"]
                .as_u64()
                .map(|s| s as usize)
                .or(data.as_ref().map(Vec::len))
                .unwrap_or_default();
            let filename = if filename.is_empty() {
                unnamed(index, mime == "message/rfc822")
            } else {
                filename.to_owned()
            };
            out.parts.push(GmailPart {
                meta: AttachmentMeta {
                    index,
                    filename,
                    content_type: mime.clone(),
                    size,
                    inline: disposition.starts_with("inline") || content_id.is_some(),
                    content_id,
                },
                data,
                attachment_id,
            });
        }
    }
}

/// The resource's `payload`, or why there is none to read.
fn payload_of(resource: &[u8]) -> Result<Value, String> {
    let mut json: Value = serde_json::from_slice(resource)
        .map_err(|e| format!("Gmail's description of the message could not be read: {e}"))?;
    match json.get_mut("payload").map(Value::take) {
        Some(payload) if payload.is_object() => Ok(payload),
        _ => Err("Gmail sent the message without its content".to_owned()),
    }
}

fn walked(payload: &Value) -> Walked {
    let mut out = Walked::default();
    walk(payload, &mut out);
    out
}

/// Reads Gmail's `format=full` resource. Never panics, whatever the input.
pub fn parse_full(resource: &[u8]) -> Parsed {
    let payload = match payload_of(resource) {
        Ok(payload) => payload,
        Err(reason) => return Parsed::Unreadable { reason },
    };
    let mut block = String::new();
    for h in payload["headers"].as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (h["name"].as_str(), h["value"].as_str()) else {
            continue;
        };
        // A value is one line here; a stray line break would end the header block.
        let value = value.replace(['\r', '\n'], " ");
        block.push_str(&format!("{name}: {value}\r\n"));
    }
    block.push_str("\r\n");
    let headers = MessageParser::default()
        .parse(block.as_bytes())
        .filter(|m| !m.headers().is_empty())
        .map(|m| headers_of(&m));
    let Some(headers) = headers else {
        return Parsed::Unreadable {
            reason: "no message headers could be read".into(),
        };
    };
    let Walked {
        text: plain,
        html,
        parts,
        mut problems,
    } = walked(&payload);
    let text = match (&plain, &html) {
        (Some(text), _) => text.clone(),
        (None, Some(html)) => html_text(html),
        (None, None) => String::new(),
    };
    if text.trim().is_empty() && html.is_none() && parts.is_empty() {
        problems.push("the message has no body".to_owned());
    }
    problems.dedup();
    Parsed::Mail(Box::new(ParsedMail {
        snippet: snippet(&text),
        text,
        html: html.filter(|h| !h.trim().is_empty()),
        attachments: parts.into_iter().map(|p| p.meta).collect(),
        problems,
        ..headers
    }))
}

/// The HTML body of a `format=full` resource and its parts other than the body: `Ok(None)`
/// for a message without HTML, `Err` with the reason for one that cannot be read.
pub fn html_full(resource: &[u8]) -> Result<Option<(String, Vec<GmailPart>)>, String> {
    let walked = walked(&payload_of(resource)?);
    Ok(walked
        .html
        .filter(|h| !h.trim().is_empty())
        .map(|html| (html, walked.parts)))
}

/// The part at `index` (as [`AttachmentMeta::index`] numbers them).
pub fn part_full(resource: &[u8], index: usize) -> Option<GmailPart> {
    walked(&payload_of(resource).ok()?)
        .parts
        .into_iter()
        .nth(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE;
    use base64::Engine;
    use serde_json::json;

    fn data(bytes: &[u8]) -> String {
        URL_SAFE.encode(bytes)
    }

    fn resource() -> Vec<u8> {
        serde_json::to_vec(&json!({
            "id": "m1", "threadId": "t1", "labelIds": ["INBOX"],
            "payload": {
                "partId": "", "mimeType": "multipart/mixed", "filename": "",
                "headers": [
                    {"name": "From", "value": "Grace Hopper <grace@example.org>"},
                    {"name": "To", "value": "ada@example.com, Bob <bob@example.com>"},
                    {"name": "Subject", "value": "Größe"},
                    {"name": "Date", "value": "Mon, 30 Nov 2026 10:00:00 +0000"},
                    {"name": "Message-ID", "value": "<m1@example.org>"},
                    {"name": "References", "value": "<a@x> <b@x>"},
                ],
                "body": {"size": 0},
                "parts": [
                    {"partId": "0", "mimeType": "multipart/alternative", "filename": "",
                     "headers": [], "body": {"size": 0}, "parts": [
                        {"partId": "0.0", "mimeType": "text/plain", "filename": "",
                         "headers": [{"name": "Content-Type", "value": "text/plain; charset=iso-8859-1"}],
                         "body": {"size": 7, "data": data(b"Gr\xf6\xdfe hi")}},
                        {"partId": "0.1", "mimeType": "text/html", "filename": "",
                         "headers": [], "body": {"size": 30, "data": data(b"<p>Gr\xc3\xb6\xc3\x9fe <img src=\"cid:logo\"></p>")}},
                     ]},
                    {"partId": "1", "mimeType": "image/png", "filename": "",
                     "headers": [{"name": "Content-ID", "value": "<logo>"}],
                     "body": {"size": 3, "data": data(b"PNG")}},
                    {"partId": "2", "mimeType": "application/pdf", "filename": "plan.pdf",
                     "headers": [{"name": "Content-Disposition", "value": "attachment; filename=plan.pdf"}],
                     "body": {"size": 4096, "attachmentId": "ANGjdJabc"}},
                ],
            },
        }))
        .expect("json")
    }

    #[test]
    fn a_full_resource_reads_like_the_raw_message_it_describes() {
        let Parsed::Mail(mail) = parse_full(&resource()) else {
            panic!("readable");
        };
        assert_eq!(mail.subject, "Größe");
        assert_eq!(mail.message_id.as_deref(), Some("m1@example.org"));
        assert_eq!(mail.parents, vec!["a@x".to_owned(), "b@x".to_owned()]);
        assert_eq!(mail.from[0].address, "grace@example.org");
        assert_eq!(mail.from[0].name, "Grace Hopper");
        assert_eq!(mail.to.len(), 2);
        assert!(mail.date.is_some());
        assert_eq!(
            mail.text, "Größe hi",
            "a Latin-1 part is read in its charset"
        );
        assert!(mail.html.as_deref().is_some_and(|h| h.contains("Größe")));
        assert!(mail.problems.is_empty(), "{:?}", mail.problems);
        assert_eq!(mail.attachments.len(), 2);
        let logo = &mail.attachments[0];
        assert!(logo.inline);
        assert_eq!(logo.content_id.as_deref(), Some("logo"));
        let plan = &mail.attachments[1];
        assert_eq!(
            (plan.index, plan.filename.as_str(), plan.size),
            (1, "plan.pdf", 4096)
        );
        assert!(!plan.inline);

        let (html, parts) = html_full(&resource()).expect("reads").expect("has html");
        assert!(html.contains("cid:logo"));
        assert_eq!(parts[0].data.as_deref(), Some(&b"PNG"[..]));
        let plan = part_full(&resource(), 1).expect("the pdf");
        assert_eq!(plan.attachment_id.as_deref(), Some("ANGjdJabc"));
        assert_eq!(plan.data, None);
        assert_eq!(part_full(&resource(), 2), None);
    }

    #[test]
    fn every_generated_message_reads_the_same_from_its_full_resource_as_from_its_bytes() {
        use super::super::parse::parse;
        use ferry_sandbox::mail::generate::{mailbox, Spec};
        use ferry_sandbox::mail::letter::gmail_payload;
        let letters = mailbox(&Spec {
            seed: 43,
            count: 300,
            owner: "ada@example.com".into(),
            also_to: vec!["ada@work.example".into()],
            newest_ms: 1_800_000_000_000,
            span_days: 365,
        });
        let mut with_attachments = 0;
        for letter in &letters {
            let resource =
                serde_json::to_vec(&json!({"payload": gmail_payload(&letter.raw, true)}))
                    .expect("json");
            let (Parsed::Mail(full), Parsed::Mail(raw)) =
                (parse_full(&resource), parse(&letter.raw))
            else {
                panic!("both read");
            };
            assert!(full.problems.is_empty(), "{:?}", full.problems);
            assert_eq!(
                (&full.subject, &full.message_id, &full.parents, &full.date),
                (&raw.subject, &raw.message_id, &raw.parents, &raw.date)
            );
            assert_eq!(
                (&full.from, &full.to, &full.cc),
                (&raw.from, &raw.to, &raw.cc)
            );
            assert_eq!(full.html.is_some(), raw.html.is_some());
            assert!(!full.text.trim().is_empty(), "a body");
            let described = |m: &ParsedMail| -> Vec<(String, usize)> {
                m.attachments
                    .iter()
                    .map(|a| (a.filename.clone(), a.size))
                    .collect()
            };
            assert_eq!(described(&full), described(&raw), "{}", raw.subject);
            with_attachments += usize::from(!full.attachments.is_empty());
        }
        assert!(with_attachments > 0);
    }

    proptest::proptest! {
        /// Whatever Gmail sends, reading it never panics.
        #[test]
        fn any_resource_is_read_without_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_full(&bytes);
            let _ = html_full(&bytes);
            let _ = part_full(&bytes, 0);
        }

        /// Nor does any part tree, however odd its shapes.
        #[test]
        fn any_part_tree_is_read_without_a_panic(
            mime in "(multipart/mixed|text/plain|text/html|image/png|message/rfc822|)",
            data in "[A-Za-z0-9_=*-]{0,40}",
            filename in "[a-z.]{0,8}",
            depth in 0usize..4,
        ) {
            let mut part = json!({"mimeType": mime, "filename": filename,
                "headers": [{"name": "Content-Type", "value": "text/plain; charset=x-unknown"}],
                "body": {"data": data}});
            for _ in 0..depth {
                part = json!({"mimeType": "multipart/mixed", "parts": [part.clone(), part]});
            }
            let resource = serde_json::to_vec(&json!({"payload": {
                "headers": [{"name": "Subject", "value": "x"}], "mimeType": "multipart/mixed",
                "parts": [part],
            }})).expect("json");
            let _ = parse_full(&resource);
            let _ = html_full(&resource);
            let _ = part_full(&resource, 1);
        }
    }

    #[test]
    fn broken_resources_are_kept_with_a_reason() {
        for bad in [
            &b""[..],
            b"{not json",
            br#"{"id":"m1"}"#,
            br#"{"id":"m1","payload":{"headers":[]}}"#,
        ] {
            assert!(
                matches!(parse_full(bad), Parsed::Unreadable { .. }),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let damaged = serde_json::to_vec(&json!({"payload": {
            "mimeType": "text/plain", "headers": [{"name": "Subject", "value": "x"}],
            "body": {"size": 3, "data": "***"},
        }}))
        .expect("json");
        let Parsed::Mail(mail) = parse_full(&damaged) else {
            panic!("headers still read");
        };
        assert_eq!(mail.subject, "x");
        assert!(mail.problems.iter().any(|p| p.contains("damaged")));
    }
}
