//! The search box's language, read into a typed query: free words and `"quoted phrases"`
//! go to the full-text index; `from:`, `to:`, `account:`, `has:attachment`, `is:unread`
//! (`is:read`, `is:starred`), `before:` and `after:` (dates as `2026-11-30` or
//! `2026/11/30`) filter. A value may be quoted (`from:"Ada Lovelace"`). A word with an
//! unknown prefix (`re:budget`) is searched as written.

use chrono::NaiveDate;

/// What the search box asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words and phrases for the full-text index, as typed.
    pub terms: Vec<Term>,
    pub from: Vec<String>,
    pub to: Vec<String>,
    pub account: Vec<String>,
    pub has_attachment: bool,
    /// `Some(true)` for `is:unread`, `Some(false)` for `is:read`.
    pub unread: Option<bool>,
    pub starred: bool,
    /// Received before the start of this day (UTC).
    pub before: Option<NaiveDate>,
    /// Received on or after the start of this day (UTC).
    pub after: Option<NaiveDate>,
}

/// A word or a quoted phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub text: String,
    pub phrase: bool,
}

/// Why the search box's text could not be read; the message is shown under the box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{key}: needs a date such as 2026-11-30 (found \u{201c}{value}\u{201d})")]
    BadDate { key: &'static str, value: String },
    #[error("{key}: needs something after the colon")]
    Empty { key: String },
    #[error("has: knows only has:attachment (found \u{201c}{0}\u{201d})")]
    UnknownHas(String),
    #[error("is: knows is:unread, is:read and is:starred (found \u{201c}{0}\u{201d})")]
    UnknownIs(String),
}

impl SearchQuery {
    /// Whether nothing at all was asked (an empty box, or only spaces).
    pub fn is_empty(&self) -> bool {
        *self == SearchQuery::default()
    }

    /// The terms as an FTS5 expression (every term required), or `None` with no terms.
    /// Each term is quoted, so nothing typed is read as FTS5 syntax; the last bare word
    /// also matches as a prefix, so results follow typing.
    pub fn fts(&self) -> Option<String> {
        let searchable: Vec<&Term> = self
            .terms
            .iter()
            .filter(|t| t.text.chars().any(char::is_alphanumeric))
            .collect();
        let last_word = searchable.iter().rposition(|t| !t.phrase);
        let parts: Vec<String> = searchable
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let quoted = format!("\"{}\"", t.text.replace('"', "\"\""));
                if Some(i) == last_word {
                    quoted + "*"
                } else {
                    quoted
                }
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }
}

/// Reads the search box.
pub fn parse(input: &str) -> Result<SearchQuery, QueryError> {
    let mut query = SearchQuery::default();
    for token in tokens(input) {
        let Some(key) = token.key.as_deref() else {
            if !token.value.is_empty() {
                query.terms.push(Term {
                    text: token.value,
                    phrase: token.quoted,
                });
            }
            continue;
        };
        let value = token.value;
        if value.is_empty() {
            return Err(QueryError::Empty { key: key.into() });
        }
        match key {
            "from" => query.from.push(value),
            "to" => query.to.push(value),
            "account" => query.account.push(value),
            "has" if value.eq_ignore_ascii_case("attachment") => query.has_attachment = true,
            "has" => return Err(QueryError::UnknownHas(value)),
            "is" => match value.to_ascii_lowercase().as_str() {
                "unread" => query.unread = Some(true),
                "read" => query.unread = Some(false),
                "starred" | "flagged" => query.starred = true,
                _ => return Err(QueryError::UnknownIs(value)),
            },
            "before" => query.before = Some(date("before", value)?),
            "after" => query.after = Some(date("after", value)?),
            _ => unreachable!("tokens() only splits known keys"),
        }
    }
    Ok(query)
}

fn date(key: &'static str, value: String) -> Result<NaiveDate, QueryError> {
    let normal = value.replace('/', "-");
    NaiveDate::parse_from_str(&normal, "%Y-%m-%d").map_err(|_| QueryError::BadDate { key, value })
}

const KEYS: [&str; 7] = ["from", "to", "account", "has", "is", "before", "after"];

struct Token {
    key: Option<String>,
    value: String,
    quoted: bool,
}

/// Splits on whitespace outside quotes; `key:` is split off only for known keys. An
/// unclosed quote runs to the end.
fn tokens(input: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return out;
        }
        let mut word = String::new();
        let mut key = None;
        let mut quoted = false;
        while let Some(c) = chars.next() {
            if c == '"' {
                quoted = true;
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    word.push(c);
                }
            } else if c.is_whitespace() {
                break;
            } else if c == ':' && key.is_none() && !quoted {
                let lower = word.to_ascii_lowercase();
                if KEYS.contains(&lower.as_str()) {
                    key = Some(lower);
                    word.clear();
                } else {
                    word.push(c);
                }
            } else {
                word.push(c);
            }
        }
        out.push(Token {
            key,
            value: word,
            quoted,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str) -> Term {
        Term {
            text: text.into(),
            phrase: false,
        }
    }

    #[test]
    fn words_phrases_and_filters_are_told_apart() {
        let q = parse(
            r#"budget "quarterly review" from:"Ada Lovelace" to:bob account:work has:attachment is:unread after:2026/01/02 before:2026-11-30 re:plans"#,
        )
        .expect("reads");
        assert_eq!(
            q.terms,
            vec![
                word("budget"),
                Term {
                    text: "quarterly review".into(),
                    phrase: true
                },
                word("re:plans"),
            ]
        );
        assert_eq!(q.from, vec!["Ada Lovelace"]);
        assert_eq!(q.to, vec!["bob"]);
        assert_eq!(q.account, vec!["work"]);
        assert!(q.has_attachment);
        assert_eq!(q.unread, Some(true));
        assert_eq!(q.after, NaiveDate::from_ymd_opt(2026, 1, 2));
        assert_eq!(q.before, NaiveDate::from_ymd_opt(2026, 11, 30));
    }

    #[test]
    fn the_index_sees_quoted_terms_only_and_the_last_word_as_a_prefix() {
        let q = parse(r#"NEAR "a ""b" OR c* -"#).expect("reads");
        assert_eq!(
            q.fts().as_deref(),
            Some(r#""NEAR" AND "a b" AND "OR" AND "c*"*"#),
            "FTS5 operators typed by the user are searched as words; a lone dash is dropped"
        );
        assert_eq!(parse("   ").expect("reads").fts(), None);
        assert!(parse("  ").expect("reads").is_empty());
        assert!(!parse("is:read").expect("reads").is_empty());
    }

    #[test]
    fn bad_filters_say_what_they_need() {
        assert_eq!(
            parse("before:yesterday").expect_err("an error").to_string(),
            "before: needs a date such as 2026-11-30 (found \u{201c}yesterday\u{201d})"
        );
        assert!(matches!(parse("from:"), Err(QueryError::Empty { .. })));
        assert!(matches!(parse("has:pdf"), Err(QueryError::UnknownHas(_))));
        assert!(matches!(parse("is:late"), Err(QueryError::UnknownIs(_))));
        assert_eq!(
            parse("FROM:ada").expect("reads").from,
            vec!["ada"],
            "keys are case-blind"
        );
    }
}
