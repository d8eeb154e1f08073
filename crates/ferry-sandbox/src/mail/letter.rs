//! Reading a stored message (RFC 5322 bytes) the way a provider presents it: the headers
//! that thread it, a snippet, Gmail's `payload` tree of parts, and attachment bytes.
//! Parsing is `mail-parser`'s; a message it cannot make sense of is shown as one plain
//! part holding the bytes, as providers do with broken mail.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde_json::{json, Value};

/// How long a snippet runs, in characters.
const SNIPPET_CHARS: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub message_id: Option<String>,
    /// `In-Reply-To` and `References`, oldest first.
    pub parents: Vec<String>,
    pub snippet: String,
}

fn parse(raw: &[u8]) -> Option<Message<'_>> {
    MessageParser::default().parse(raw)
}

fn angle(id: &str) -> String {
    format!("<{}>", id.trim_matches(|c| c == '<' || c == '>'))
}

pub fn summary(raw: &[u8]) -> Summary {
    let Some(message) = parse(raw) else {
        return Summary::default();
    };
    let mut parents: Vec<String> = message
        .references()
        .as_text_list()
        .map(|ids| ids.iter().map(|id| angle(id)).collect())
        .or_else(|| message.references().as_text().map(|id| vec![angle(id)]))
        .unwrap_or_default();
    if let Some(parent) = message.in_reply_to().as_text() {
        let parent = angle(parent);
        if !parents.contains(&parent) {
            parents.push(parent);
        }
    }
    Summary {
        message_id: message.message_id().map(angle),
        parents,
        snippet: snippet(&message),
    }
}

fn snippet(message: &Message<'_>) -> String {
    let text = message
        .body_text(0)
        .map(|t| t.into_owned())
        .unwrap_or_default();
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(SNIPPET_CHARS).collect()
}

/// The attachment id of part `part_id`: opaque to clients, as Gmail's are.
fn attachment_id(part_id: &str) -> String {
    format!("ANGjdJ{}", URL_SAFE.encode(format!("part:{part_id}")))
}

fn part_of_attachment_id(attachment_id: &str) -> Option<String> {
    let encoded = attachment_id.strip_prefix("ANGjdJ")?;
    let decoded = String::from_utf8(URL_SAFE.decode(encoded).ok()?).ok()?;
    decoded.strip_prefix("part:").map(str::to_owned)
}

/// Gmail's `payload`: the part tree with headers, and with bodies when `bodies` (format
/// `full`; `metadata` leaves them out). Attachments carry an `attachmentId`, not data.
pub fn gmail_payload(raw: &[u8], bodies: bool) -> Value {
    let Some(message) = parse(raw) else {
        return json!({
            "partId": "", "mimeType": "text/plain", "filename": "", "headers": [],
            "body": body_json(raw, "", bodies, false),
        });
    };
    part_json(&message, raw, 0, String::new(), bodies)
}

/// What a client that kept Gmail's `full` resource can hash of it, the same on both sides:
/// for each part of `payload` in tree order, its id, type, file name, headers and body
/// (the data as sent, or the attachment id), one per line.
pub fn payload_digest_input(payload: &Value) -> String {
    let mut out = String::new();
    let mut stack = vec![payload];
    while let Some(part) = stack.pop() {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        out.push_str(&format!(
            "{}\n{}\n{}\n",
            text(&part["partId"]),
            text(&part["mimeType"]),
            text(&part["filename"])
        ));
        for h in part["headers"].as_array().into_iter().flatten() {
            out.push_str(&format!("{}: {}\n", text(&h["name"]), text(&h["value"])));
        }
        let body = &part["body"];
        out.push_str(&text(&body["data"]));
        out.push_str(&text(&body["attachmentId"]));
        out.push('\n');
        if let Some(children) = part["parts"].as_array() {
            stack.extend(children.iter().rev());
        }
    }
    out
}

/// The decoded bytes of the attachment `attachment_id` names.
pub fn gmail_attachment(raw: &[u8], attachment_id: &str) -> Option<Vec<u8>> {
    let wanted = part_of_attachment_id(attachment_id)?;
    let message = parse(raw)?;
    find_part(&message, 0, String::new(), &wanted)
}

fn find_part(message: &Message<'_>, index: u32, id: String, wanted: &str) -> Option<Vec<u8>> {
    let part = message.part(index)?;
    if id == wanted {
        return Some(part.contents().to_vec());
    }
    if let PartType::Multipart(children) = &part.body {
        for (n, child) in children.iter().enumerate() {
            let child_id = child_part_id(&id, n);
            if wanted.starts_with(&child_id) {
                if let Some(found) = find_part(message, *child, child_id, wanted) {
                    return Some(found);
                }
            }
        }
    }
    None
}

fn child_part_id(parent: &str, n: usize) -> String {
    if parent.is_empty() {
        n.to_string()
    } else {
        format!("{parent}.{n}")
    }
}

fn part_json(message: &Message<'_>, raw: &[u8], index: u32, id: String, bodies: bool) -> Value {
    let Some(part) = message.part(index) else {
        return json!({});
    };
    let mime_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        })
        .unwrap_or_else(|| "text/plain".to_owned());
    let filename = part.attachment_name().unwrap_or_default().to_owned();
    let headers: Vec<Value> = part
        .headers
        .iter()
        .map(|h| {
            let start = h.offset_start as usize;
            let end = (h.offset_end as usize).min(raw.len());
            let unfolded = String::from_utf8_lossy(raw.get(start..end).unwrap_or_default())
                .replace("\r\n", "")
                .replace('\n', "");
            // Unstructured text (Subject and the like) is shown decoded, as Gmail does.
            let value = h
                .value
                .as_text()
                .filter(|_| unfolded.contains("=?"))
                .map(str::to_owned)
                .unwrap_or_else(|| unfolded.trim().to_owned());
            json!({"name": h.name.as_str(), "value": value})
        })
        .collect();
    let mut out = json!({
        "partId": id,
        "mimeType": mime_type,
        "filename": filename,
        "headers": headers,
    });
    match &part.body {
        PartType::Multipart(children) => {
            out["body"] = json!({"size": 0});
            out["parts"] = Value::Array(
                children
                    .iter()
                    .enumerate()
                    .map(|(n, child)| {
                        part_json(message, raw, *child, child_part_id(&id, n), bodies)
                    })
                    .collect(),
            );
        }
        PartType::Text(text) | PartType::Html(text) if filename.is_empty() => {
            out["body"] = body_json(text.as_bytes(), &id, bodies, false);
        }
        _ => {
            out["body"] = body_json(part.contents(), &id, bodies, true);
        }
    }
    out
}

fn body_json(bytes: &[u8], part_id: &str, bodies: bool, attachment: bool) -> Value {
    if attachment {
        json!({"attachmentId": attachment_id(part_id), "size": bytes.len()})
    } else if bodies {
        json!({"size": bytes.len(), "data": URL_SAFE.encode(bytes)})
    } else {
        json!({"size": bytes.len()})
    }
}

/// A mailbox address: display name and address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub address: String,
}

/// One attachment (or inline image) of a message, in part order.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: usize,
    pub inline: bool,
    pub content_id: Option<String>,
}

/// What Graph shows of a message: its headers decoded, one body (HTML where the message
/// has it), and its attachments.
#[derive(Debug, Clone, Default)]
pub struct Outlook {
    pub subject: String,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub sent_ms: Option<i64>,
    pub internet_message_id: Option<String>,
    pub html: Option<String>,
    pub text: String,
    pub attachments: Vec<Attachment>,
}

fn mailboxes(address: Option<&mail_parser::Address<'_>>) -> Vec<Mailbox> {
    address
        .map(|a| {
            a.iter()
                .map(|addr| Mailbox {
                    name: addr.name().unwrap_or_default().to_owned(),
                    address: addr.address().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn outlook(raw: &[u8]) -> Outlook {
    let Some(message) = parse(raw) else {
        return Outlook {
            text: String::from_utf8_lossy(raw).into_owned(),
            ..Outlook::default()
        };
    };
    let attachments = message
        .attachments()
        .map(|part| Attachment {
            name: part.attachment_name().unwrap_or("attachment").to_owned(),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned()),
            size: part.contents().len(),
            inline: part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline")),
            content_id: part
                .content_id()
                .map(|id| id.trim_matches(|c| c == '<' || c == '>').to_owned()),
        })
        .collect();
    Outlook {
        subject: message.subject().unwrap_or_default().to_owned(),
        from: mailboxes(message.from()).into_iter().next(),
        to: mailboxes(message.to()),
        cc: mailboxes(message.cc()),
        sent_ms: message.date().map(|d| d.to_timestamp() * 1000),
        internet_message_id: message.message_id().map(angle),
        html: (message.html_body_count() > 0)
            .then(|| message.body_html(0).map(|h| h.into_owned()))
            .flatten(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        attachments,
    }
}

/// The bytes of the `index`-th attachment, in [`Outlook::attachments`] order.
pub fn attachment_bytes(raw: &[u8], index: usize) -> Option<Vec<u8>> {
    parse(raw)?
        .attachments()
        .nth(index)
        .map(|p| p.contents().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::generate::{mailbox, Spec};

    #[test]
    fn every_generated_message_parses_into_a_tree_with_its_attachments_reachable() {
        let letters = mailbox(&Spec {
            seed: 7,
            count: 60,
            owner: "ada@example.com".into(),
            also_to: vec![],
            newest_ms: 1_800_000_000_000,
            span_days: 30,
        });
        let mut attachments = 0;
        for letter in &letters {
            let summary = summary(&letter.raw);
            assert!(summary.message_id.is_some());
            let payload = gmail_payload(&letter.raw, true);
            assert!(payload["mimeType"]
                .as_str()
                .is_some_and(|m| m.contains('/')));
            let mut stack = vec![payload];
            while let Some(part) = stack.pop() {
                if let Some(id) = part["body"]["attachmentId"].as_str() {
                    let bytes = gmail_attachment(&letter.raw, id).expect("attachment");
                    assert_eq!(Some(bytes.len() as u64), part["body"]["size"].as_u64());
                    attachments += 1;
                }
                if let Some(parts) = part["parts"].as_array() {
                    stack.extend(parts.iter().cloned());
                }
            }
        }
        assert!(attachments > 0, "some mail has attachments");
    }

    #[test]
    fn encoded_subjects_are_shown_decoded_and_broken_mail_is_kept() {
        let raw = b"Subject: =?UTF-8?B?R3LDtsOfZQ==?=\r\nMessage-ID: <x@y>\r\n\r\nhello there\r\n";
        let payload = gmail_payload(raw, true);
        let subject = payload["headers"]
            .as_array()
            .and_then(|h| h.iter().find(|h| h["name"] == "Subject"))
            .map(|h| h["value"].clone());
        assert_eq!(subject, Some(json!("Größe")));
        assert_eq!(summary(raw).snippet, "hello there");

        let broken = gmail_payload(b"", true);
        assert_eq!(broken["body"]["size"], 0);
    }
}
