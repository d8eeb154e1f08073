//! One Gmail mailbox: messages with their labels and threads, the label list, and the
//! history log that `history.list` reads (`shared/provider-reference.md` §2.1, §5.4).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::mail::letter;

/// Gmail's system labels. `SPAM` and `TRASH` are left out of lists unless asked for.
pub const SYSTEM_LABELS: &[&str] = &[
    "INBOX",
    "SENT",
    "DRAFT",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "CHAT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
];

/// At most this many labels per mailbox.
pub const MAX_LABELS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub thread_id: String,
    pub labels: BTreeSet<String>,
    pub internal_ms: i64,
    pub history_id: u64,
    pub raw: Arc<[u8]>,
    pub snippet: String,
    /// The `Message-ID` header, for threading replies.
    pub message_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub id: String,
    pub name: String,
    pub system: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added,
    Deleted,
    LabelsAdded(Vec<String>),
    LabelsRemoved(Vec<String>),
}

impl Change {
    /// The `historyTypes` value that selects it.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Added => "messageAdded",
            Change::Deleted => "messageDeleted",
            Change::LabelsAdded(_) => "labelAdded",
            Change::LabelsRemoved(_) => "labelRemoved",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub id: u64,
    pub at: SystemTime,
    pub message_id: String,
    pub thread_id: String,
    /// The message's labels once the change was made.
    pub labels: Vec<String>,
    pub change: Change,
}

/// Why a `startHistoryId` cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleHistory;

#[derive(Debug)]
pub struct GmailBox {
    messages: HashMap<String, Stored>,
    /// Newest first, as lists return them.
    by_date: BTreeSet<(Reverse<i64>, Reverse<String>)>,
    labels: BTreeMap<String, Label>,
    /// `Message-ID` header → thread, for threading replies.
    threads_by_header: HashMap<String, String>,
    history: Vec<Record>,
    history_id: u64,
    /// Start ids below this are gone from the log (expired, or before the mailbox was
    /// seeded): `history.list` answers 404.
    floor: u64,
    next_seq: u64,
}

impl Default for GmailBox {
    fn default() -> Self {
        let labels = SYSTEM_LABELS
            .iter()
            .map(|id| {
                (
                    (*id).to_owned(),
                    Label {
                        id: (*id).to_owned(),
                        name: (*id).to_owned(),
                        system: true,
                    },
                )
            })
            .collect();
        Self {
            messages: HashMap::new(),
            by_date: BTreeSet::new(),
            labels,
            threads_by_header: HashMap::new(),
            history: Vec::new(),
            history_id: 1000,
            floor: 1000,
            next_seq: 0,
        }
    }
}

impl GmailBox {
    pub fn history_id(&self) -> u64 {
        self.history_id
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    pub fn threads_total(&self) -> usize {
        self.messages
            .values()
            .map(|m| m.thread_id.as_str())
            .collect::<BTreeSet<_>>()
            .len()
    }

    pub fn get(&self, id: &str) -> Option<&Stored> {
        self.messages.get(id)
    }

    pub fn labels(&self) -> impl Iterator<Item = &Label> {
        self.labels.values()
    }

    pub fn label(&self, id: &str) -> Option<&Label> {
        self.labels.get(id)
    }

    /// The id of the label named `name`, created as a user label if new.
    pub fn label_named(&mut self, name: &str) -> Option<String> {
        if let Some(label) = self.labels.values().find(|l| l.name == name) {
            return Some(label.id.clone());
        }
        if self.labels.len() >= MAX_LABELS {
            return None;
        }
        let id = format!("Label_{}", self.labels.len() - SYSTEM_LABELS.len() + 1);
        self.labels.insert(
            id.clone(),
            Label {
                id: id.clone(),
                name: name.to_owned(),
                system: false,
            },
        );
        Some(id)
    }

    /// Messages newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Stored> {
        self.by_date
            .iter()
            .filter_map(|(_, Reverse(id))| self.messages.get(id))
    }

    pub fn thread(&self, thread_id: &str) -> Vec<&Stored> {
        let mut messages: Vec<&Stored> = self
            .messages
            .values()
            .filter(|m| m.thread_id == thread_id)
            .collect();
        messages.sort_by(|a, b| (a.internal_ms, &a.id).cmp(&(b.internal_ms, &b.id)));
        messages
    }

    fn bump(&mut self) -> u64 {
        self.history_id += rand::thread_rng().gen_range(1..=3);
        self.history_id
    }

    fn log(&mut self, at: SystemTime, message: &Stored, change: Change) {
        self.history.push(Record {
            id: message.history_id,
            at,
            message_id: message.id.clone(),
            thread_id: message.thread_id.clone(),
            labels: message.labels.iter().cloned().collect(),
            change,
        });
    }

    /// Delivers a message with these label ids; `logged` records it in the history (a
    /// change Ferry should see) rather than as part of the mailbox it started with.
    pub fn insert(
        &mut self,
        raw: Arc<[u8]>,
        labels: BTreeSet<String>,
        internal_ms: i64,
        at: SystemTime,
        logged: bool,
    ) -> String {
        let parsed = letter::summary(&raw);
        // Ids grow with the internal date, as Gmail's do.
        self.next_seq += 1;
        let id = format!(
            "{:x}",
            ((internal_ms.max(0) as u64) << 20) | (self.next_seq & 0xfffff)
        );
        let thread_id = parsed
            .parents
            .iter()
            .rev()
            .find_map(|parent| self.threads_by_header.get(parent).cloned())
            .unwrap_or_else(|| id.clone());
        if let Some(header) = &parsed.message_id {
            self.threads_by_header
                .entry(header.clone())
                .or_insert_with(|| thread_id.clone());
        }
        let history_id = self.bump();
        let stored = Stored {
            id: id.clone(),
            thread_id,
            labels,
            internal_ms,
            history_id,
            raw,
            snippet: parsed.snippet,
            message_id: parsed.message_id,
        };
        if logged {
            self.log(at, &stored, Change::Added);
        } else {
            self.floor = self.history_id;
        }
        self.by_date
            .insert((Reverse(internal_ms), Reverse(id.clone())));
        self.messages.insert(id.clone(), stored);
        id
    }

    /// Deletes a message for good (as from Trash). Returns whether it existed.
    pub fn delete(&mut self, id: &str, at: SystemTime) -> bool {
        let Some(mut message) = self.messages.remove(id) else {
            return false;
        };
        self.by_date
            .remove(&(Reverse(message.internal_ms), Reverse(id.to_owned())));
        message.history_id = self.bump();
        self.log(at, &message, Change::Deleted);
        true
    }

    /// Adds and removes labels; logs what actually changed. Returns whether it existed.
    pub fn modify(&mut self, id: &str, add: &[String], remove: &[String], at: SystemTime) -> bool {
        let Some(current) = self.messages.get(id) else {
            return false;
        };
        let added: Vec<String> = add
            .iter()
            .filter(|l| !current.labels.contains(*l))
            .cloned()
            .collect();
        let removed: Vec<String> = remove
            .iter()
            .filter(|l| current.labels.contains(*l))
            .cloned()
            .collect();
        for (changed, is_add) in [(added, true), (removed, false)] {
            if changed.is_empty() {
                continue;
            }
            let history_id = self.bump();
            let Some(message) = self.messages.get_mut(id) else {
                return false;
            };
            for label in &changed {
                if is_add {
                    message.labels.insert(label.clone());
                } else {
                    message.labels.remove(label);
                }
            }
            message.history_id = history_id;
            let snapshot = message.clone();
            let change = if is_add {
                Change::LabelsAdded(changed)
            } else {
                Change::LabelsRemoved(changed)
            };
            self.log(at, &snapshot, change);
        }
        true
    }

    /// Forgets history older than `retention`, as Gmail does after about a week.
    pub fn expire_history(&mut self, now: SystemTime, retention: Duration) {
        let expired = self
            .history
            .iter()
            .take_while(|r| now.duration_since(r.at).unwrap_or_default() > retention)
            .count();
        if expired > 0 {
            self.floor = self.floor.max(self.history[expired - 1].id);
            self.history.drain(..expired);
        }
    }

    /// "Expire history now": every start id given out so far becomes stale (a client
    /// then takes a new one from the profile).
    pub fn expire_all_history(&mut self) {
        self.history.clear();
        self.history_id += 1;
        self.floor = self.history_id;
    }

    /// The changes after `start`, oldest first; stale when `start` is older than the log
    /// (or newer than the mailbox, which Gmail also refuses).
    pub fn history_since(&self, start: u64) -> Result<Vec<&Record>, StaleHistory> {
        if start < self.floor || start > self.history_id {
            return Err(StaleHistory);
        }
        Ok(self.history.iter().filter(|r| r.id > start).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: &str, parent: Option<&str>) -> Arc<[u8]> {
        let reply = parent
            .map(|p| format!("In-Reply-To: {p}\r\nReferences: {p}\r\n"))
            .unwrap_or_default();
        format!("Message-ID: {id}\r\n{reply}Subject: hi\r\n\r\nbody text\r\n")
            .into_bytes()
            .into()
    }

    #[test]
    fn replies_join_their_thread_and_history_ids_only_grow() {
        let mut mailbox = GmailBox::default();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let first = mailbox.insert(raw("<a@x>", None), BTreeSet::new(), 1, now, false);
        let start = mailbox.history_id();
        let reply = mailbox.insert(raw("<b@x>", Some("<a@x>")), BTreeSet::new(), 2, now, true);
        assert_eq!(mailbox.get(&reply).map(|m| &m.thread_id), Some(&first));
        assert!(mailbox.modify(&reply, &["STARRED".into()], &[], now));
        assert!(mailbox.delete(&first, now));
        let records = mailbox.history_since(start).expect("fresh");
        let kinds: Vec<&str> = records.iter().map(|r| r.change.kind()).collect();
        assert_eq!(kinds, ["messageAdded", "labelAdded", "messageDeleted"]);
        assert!(records.windows(2).all(|w| w[0].id < w[1].id));
        assert!(mailbox.history_since(start - 1).is_err(), "before the seed");
    }

    #[test]
    fn expired_history_makes_older_start_ids_stale() {
        let mut mailbox = GmailBox::default();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let start = mailbox.history_id();
        mailbox.insert(raw("<a@x>", None), BTreeSet::new(), 1, t0, true);
        let week = Duration::from_secs(7 * 86_400);
        mailbox.expire_history(t0 + week / 2, week);
        assert!(mailbox.history_since(start).is_ok(), "within a week");
        mailbox.expire_history(t0 + week * 2, week);
        assert!(mailbox.history_since(start).is_err());
        assert!(mailbox.history_since(mailbox.history_id()).is_ok());
    }
}
