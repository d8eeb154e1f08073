//! A seeded generator of mailboxes with the variety of real mail: threads from one
//! message to dozens, plain and HTML bodies, attachments and inline images, bodies in
//! legacy charsets, RFC 2047 encoded headers, labels and folders, read and unread. The
//! same seed always gives the same mail, byte for byte.

use base64::Engine;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// One generated message, ready to be delivered to a mailbox.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The message as RFC 5322 bytes.
    pub raw: Vec<u8>,
    /// Messages of one conversation share it (within one generated mailbox).
    pub conversation: usize,
    /// Milliseconds since the epoch: when the mailbox received it.
    pub received_ms: i64,
    /// Sent by the mailbox's owner (Gmail `SENT`, Outlook's Sent Items).
    pub sent: bool,
    pub unread: bool,
    pub starred: bool,
    /// A user label / folder name, if any ("Work", "Travel/2026", ...).
    pub folder: Option<String>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub seed: u64,
    pub count: usize,
    /// The mailbox owner's address.
    pub owner: String,
    /// Every message is addressed to these as well (another account of the same person).
    pub also_to: Vec<String>,
    /// The newest message's time, and how far back the oldest goes.
    pub newest_ms: i64,
    pub span_days: u32,
}

const PEOPLE: &[(&str, &str)] = &[
    ("Ada Lovelace", "ada@analytical.example"),
    ("Charles Babbage", "charles@engines.example"),
    ("Grace Hopper", "grace@navy.example"),
    ("Jürgen Müller", "juergen@beispiel.example"),
    ("Zoë Ångström", "zoe@nordic.example"),
    ("Søren Kierkegaard", "soren@copenhagen.example"),
    ("Иван Петров", "ivan@pochta.example"),
    ("山田 太郎", "taro@yamada.example"),
    ("Newsletter", "news@updates.example"),
    ("Billing", "billing@shop.example"),
];

const SUBJECTS: &[&str] = &[
    "Quarterly planning",
    "Lunch on Friday?",
    "Your receipt",
    "Trip itinerary: Lisbon",
    "Re: design review notes",
    "Größenänderung der Tabelle",
    "Café menu for the offsite",
    "Счёт за услуги",
    "会議の議事録",
    "Invoice #4711",
    "Weekend photos",
    "Build failed on main",
];

const WORDS: &[&str] = &[
    "the", "meeting", "budget", "report", "attached", "please", "review", "tomorrow", "schedule",
    "draft", "numbers", "thanks", "project", "update", "notes", "quarter", "flight", "hotel",
    "invoice", "approved", "question", "agenda", "launch", "photos",
];

const FOLDERS: &[&str] = &["Work", "Receipts", "Travel/2026", "Family", "Newsletters"];

/// Charsets bodies are written in, besides UTF-8.
const LEGACY: &[&str] = &["ISO-8859-1", "windows-1252", "KOI8-R", "Shift_JIS"];

/// Generates `spec.count` messages, newest first.
pub fn mailbox(spec: &Spec) -> Vec<Letter> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let span_ms = i64::from(spec.span_days.max(1)) * 86_400_000;
    let mut letters = Vec::with_capacity(spec.count);
    let mut conversation = 0;
    while letters.len() < spec.count {
        let length = thread_length(&mut rng).min(spec.count - letters.len());
        let subject = *SUBJECTS.choose(&mut rng).unwrap_or(&"Hello");
        let folder = rng
            .gen_bool(0.3)
            .then(|| FOLDERS.choose(&mut rng).map(|f| (*f).to_owned()))
            .flatten();
        let mut references = Vec::new();
        let start = spec.newest_ms - rng.gen_range(0..span_ms);
        for step in 0..length {
            let id = message_id(spec.seed, conversation, step);
            let sent = step > 0 && rng.gen_bool(0.3);
            let received_ms =
                (start + step as i64 * rng.gen_range(60_000..86_400_000)).min(spec.newest_ms);
            let raw = compose(
                &mut rng,
                spec,
                &Headers {
                    id: &id,
                    subject: if step == 0 {
                        subject.to_owned()
                    } else {
                        format!("Re: {subject}")
                    },
                    sent,
                    references: &references,
                    date_ms: received_ms,
                },
            );
            letters.push(Letter {
                raw,
                conversation,
                received_ms,
                sent,
                unread: !sent && rng.gen_bool(0.3),
                starred: rng.gen_bool(0.05),
                folder: folder.clone(),
            });
            references.push(id);
        }
        conversation += 1;
    }
    letters.sort_by_key(|l| std::cmp::Reverse(l.received_ms));
    letters
}

/// Most conversations are one message; some run to dozens.
fn thread_length(rng: &mut StdRng) -> usize {
    match rng.gen_range(0..100) {
        0..=59 => 1,
        60..=84 => rng.gen_range(2..=4),
        85..=94 => rng.gen_range(5..=15),
        _ => rng.gen_range(20..=40),
    }
}

fn message_id(seed: u64, conversation: usize, step: usize) -> String {
    format!("<{seed:x}.{conversation}.{step}@generated.sandbox.example>")
}

struct Headers<'a> {
    id: &'a str,
    subject: String,
    sent: bool,
    references: &'a [String],
    date_ms: i64,
}

fn compose(rng: &mut StdRng, spec: &Spec, h: &Headers<'_>) -> Vec<u8> {
    let (name, address) = *PEOPLE.choose(rng).unwrap_or(&PEOPLE[0]);
    let mut to = vec![spec.owner.clone()];
    to.extend(spec.also_to.iter().cloned());
    let (from, to) = if h.sent {
        (
            spec.owner.clone(),
            format!("{} <{address}>", encode_word(rng, name)),
        )
    } else {
        (
            format!("{} <{address}>", encode_word(rng, name)),
            to.join(", "),
        )
    };
    let date = chrono::DateTime::from_timestamp_millis(h.date_ms)
        .unwrap_or_default()
        .to_rfc2822();
    let mut out = String::new();
    out.push_str(&format!("Message-ID: {}\r\n", h.id));
    out.push_str(&format!("Date: {date}\r\n"));
    out.push_str(&format!("From: {from}\r\n"));
    out.push_str(&format!("To: {to}\r\n"));
    if let Some(parent) = h.references.last() {
        out.push_str(&format!("In-Reply-To: {parent}\r\n"));
        out.push_str(&format!("References: {}\r\n", h.references.join(" ")));
    }
    out.push_str(&format!("Subject: {}\r\n", encode_word(rng, &h.subject)));
    out.push_str("MIME-Version: 1.0\r\n");
    let text = paragraph(rng, &h.subject);
    let mut raw = out.into_bytes();
    match rng.gen_range(0..10) {
        // Plain text, UTF-8 quoted-printable.
        0..=2 => raw.extend(text_part("plain", &text)),
        // Plain text in a legacy charset, 8bit.
        3 => raw.extend(legacy_part(rng, &text)),
        // Plain and HTML alternatives.
        4..=6 => raw.extend(alternative(rng, &text)),
        // With an attachment.
        7 | 8 => raw.extend(mixed(rng, &text)),
        // HTML with an inline image.
        _ => raw.extend(related(rng, &text)),
    }
    raw
}

/// Non-ASCII header text as an RFC 2047 encoded word (B or Q); ASCII as it is.
fn encode_word(rng: &mut StdRng, text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    if rng.gen_bool(0.5) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        format!("=?UTF-8?B?{b64}?=")
    } else {
        let mut q = String::new();
        for byte in text.as_bytes() {
            match byte {
                b' ' => q.push('_'),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => q.push(*byte as char),
                other => q.push_str(&format!("={other:02X}")),
            }
        }
        format!("=?utf-8?Q?{q}?=")
    }
}

fn paragraph(rng: &mut StdRng, subject: &str) -> String {
    let mut text = format!("About \"{subject}\":\n\n");
    for line in 0..rng.gen_range(2..12) {
        let words: Vec<&str> = (0..rng.gen_range(6..16))
            .map(|_| *WORDS.choose(rng).unwrap_or(&"mail"))
            .collect();
        text.push_str(&words.join(" "));
        text.push_str(if line % 3 == 2 { ".\n\n" } else { ". " });
    }
    text.push_str("\n-- \nSent from the sandbox\n");
    text
}

fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for byte in text.replace('\n', "\r\n").bytes() {
        let piece = match byte {
            b'\r' | b'\n' => {
                out.push(byte as char);
                line_len = 0;
                continue;
            }
            b'=' => "=3D".to_owned(),
            33..=126 | b' ' => (byte as char).to_string(),
            other => format!("={other:02X}"),
        };
        if line_len + piece.len() > 75 {
            out.push_str("=\r\n");
            line_len = 0;
        }
        line_len += piece.len();
        out.push_str(&piece);
    }
    out
}

fn text_part(subtype: &str, text: &str) -> Vec<u8> {
    format!(
        "Content-Type: text/{subtype}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n",
        quoted_printable(text)
    )
    .into_bytes()
}

fn legacy_part(rng: &mut StdRng, text: &str) -> Vec<u8> {
    let charset = *LEGACY.choose(rng).unwrap_or(&"ISO-8859-1");
    let extra = match charset {
        "KOI8-R" => "Привет, коллеги!",
        "Shift_JIS" => "よろしくお願いします。",
        _ => "Grüße aus Köln, à bientôt.",
    };
    let body = format!("{extra}\r\n\r\n{}", text.replace('\n', "\r\n"));
    let encoding =
        encoding_rs::Encoding::for_label(charset.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    let (bytes, _, _) = encoding.encode(&body);
    let mut out = format!(
        "Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    )
    .into_bytes();
    out.extend_from_slice(&bytes);
    out.extend_from_slice(b"\r\n");
    out
}

fn html_of(text: &str, image_cid: Option<&str>) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let paragraphs: Vec<String> = escaped
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
        .collect();
    let image = image_cid
        .map(|cid| format!("<p><img src=\"cid:{cid}\" alt=\"chart\"></p>"))
        .unwrap_or_default();
    // Remote content, as newsletters carry: a tracking pixel the reader must block.
    format!(
        "<html><body>{}{image}<img src=\"https://tracker.example/p.gif\" width=\"1\" height=\"1\"></body></html>",
        paragraphs.join("")
    )
}

fn boundary(rng: &mut StdRng) -> String {
    format!("=_sandbox_{:016x}", rng.gen::<u64>())
}

fn alternative(rng: &mut StdRng, text: &str) -> Vec<u8> {
    let b = boundary(rng);
    let mut out =
        format!("Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n").into_bytes();
    out.extend(format!("--{b}\r\n").into_bytes());
    out.extend(text_part("plain", text));
    out.extend(format!("--{b}\r\n").into_bytes());
    out.extend(text_part("html", &html_of(text, None)));
    out.extend(format!("--{b}--\r\n").into_bytes());
    out
}

fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 * 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str("\r\n");
    }
    out
}

fn binary(rng: &mut StdRng, size: usize) -> Vec<u8> {
    (0..size).map(|_| rng.gen()).collect()
}

fn mixed(rng: &mut StdRng, text: &str) -> Vec<u8> {
    let b = boundary(rng);
    let (name, mime) = *[
        ("report.pdf", "application/pdf"),
        (
            "Übersicht Q3.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("photo.jpg", "image/jpeg"),
        ("notes.txt", "text/plain"),
    ]
    .choose(rng)
    .unwrap_or(&("file.bin", "application/octet-stream"));
    let size = rng.gen_range(200..40_000);
    let mut out = format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n").into_bytes();
    out.extend(format!("--{b}\r\n").into_bytes());
    out.extend(alternative(rng, text));
    out.extend(format!("--{b}\r\n").into_bytes());
    let encoded_name = encode_word(rng, name);
    out.extend(
        format!(
            "Content-Type: {mime}; name=\"{encoded_name}\"\r\nContent-Disposition: attachment; filename=\"{encoded_name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(&binary(rng, size))
        )
        .into_bytes(),
    );
    out.extend(format!("--{b}--\r\n").into_bytes());
    out
}

fn related(rng: &mut StdRng, text: &str) -> Vec<u8> {
    let b = boundary(rng);
    let cid = format!("chart.{:08x}@sandbox", rng.gen::<u32>());
    let image_size = rng.gen_range(500..5_000);
    let mut out =
        format!("Content-Type: multipart/related; boundary=\"{b}\"; type=\"text/html\"\r\n\r\n")
            .into_bytes();
    out.extend(format!("--{b}\r\n").into_bytes());
    out.extend(text_part("html", &html_of(text, Some(&cid))));
    out.extend(format!("--{b}\r\n").into_bytes());
    out.extend(
        format!(
            "Content-Type: image/png\r\nContent-ID: <{cid}>\r\nContent-Disposition: inline; filename=\"chart.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            base64_lines(&binary(rng, image_size))
        )
        .into_bytes(),
    );
    out.extend(format!("--{b}--\r\n").into_bytes());
    out
}
