//! One Outlook mailbox: folders, messages with immutable ids, and the change log that
//! per-folder `messages/delta` rounds read (`shared/provider-reference.md` §2.4, §2.5).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Well-known folder names a path may use instead of an id, with display names.
pub const WELL_KNOWN: &[(&str, &str)] = &[
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("junkemail", "Junk Email"),
    ("archive", "Archive"),
];

#[derive(Debug, Clone)]
pub struct Folder {
    pub id: String,
    /// The display name, in the mailbox's language.
    pub name: String,
    pub parent: Option<String>,
    /// The well-known name paths accept for it (`inbox`), whatever it is called.
    pub role: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct Message {
    /// Survives moves between folders (`Prefer: IdType="ImmutableId"`).
    pub immutable_id: String,
    /// How often it moved: the default (mutable) id changes with each move.
    pub moves: u32,
    pub folder: String,
    pub is_read: bool,
    pub flagged: bool,
    pub categories: Vec<String>,
    /// Changes with every change.
    pub change_key: String,
    pub received_ms: i64,
    pub modified_ms: i64,
    pub raw: Arc<[u8]>,
    /// `raw` as Outlook describes it, read once when the message arrives (its bytes
    /// never change), so a page of a thousand is not a thousand MIME parses.
    pub view: Arc<crate::mail::letter::Outlook>,
    pub conversation_id: String,
}

/// The id a client sees: the immutable one, or the default one, which a move changes.
pub fn client_id(immutable_id: &str, moves: u32, immutable: bool) -> String {
    if immutable {
        immutable_id.to_owned()
    } else {
        format!("{}-{moves}", immutable_id.replacen("AAkAL", "AAMkA", 1))
    }
}

impl Message {
    pub fn id(&self, immutable: bool) -> String {
        client_id(&self.immutable_id, self.moves, immutable)
    }
}

/// One message's latest change within a folder, as a delta round reports it.
#[derive(Debug)]
pub struct FolderChange<'a> {
    pub seq: u64,
    pub immutable_id: String,
    /// The message, if it is in the folder now.
    pub here: Option<&'a Message>,
    /// Gone from the mailbox (not just moved elsewhere).
    pub deleted: bool,
    /// Its move count while it was in the folder (for its default id).
    pub moves: u32,
}

/// One entry of the change log: a message changed, left `from` or arrived in `to`.
#[derive(Debug, Clone)]
pub struct Change {
    pub seq: u64,
    pub message: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The message's move count before this change.
    pub moves: u32,
}

#[derive(Debug)]
pub struct OutlookBox {
    pub folders: BTreeMap<String, Folder>,
    messages: HashMap<String, Message>,
    log: Vec<Change>,
    seq: u64,
    next_id: u64,
    /// Bumped by "expire now": delta tokens from before it are no longer known.
    pub epoch: u64,
    /// Bumped by "reset": delta tokens from before it get 410 Gone.
    pub reset_epoch: u64,
    /// Conversation ids by the first message's `Message-ID`.
    conversations: HashMap<String, String>,
}

fn opaque(prefix: &str, n: u64) -> String {
    format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(format!("sandbox-{n:012}"))
    )
}

impl Default for OutlookBox {
    fn default() -> Self {
        let mut folders = BTreeMap::new();
        for (n, (role, name)) in WELL_KNOWN.iter().enumerate() {
            let id = opaque("AQMkADAwATM0MDAAMS1", n as u64);
            folders.insert(
                id.clone(),
                Folder {
                    id,
                    name: (*name).to_owned(),
                    parent: None,
                    role: Some(role),
                },
            );
        }
        Self {
            folders,
            messages: HashMap::new(),
            log: Vec::new(),
            seq: 0,
            next_id: 0,
            epoch: 0,
            reset_epoch: 0,
            conversations: HashMap::new(),
        }
    }
}

impl OutlookBox {
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// A folder by id or well-known name.
    pub fn folder(&self, key: &str) -> Option<&Folder> {
        if let Some(folder) = self.folders.get(key) {
            return Some(folder);
        }
        self.folders
            .values()
            .find(|f| f.role.is_some_and(|role| role.eq_ignore_ascii_case(key)))
    }

    /// The id of the folder at `path` ("Travel/2026"), created under the top level.
    pub fn folder_at(&mut self, path: &str) -> String {
        let mut parent: Option<String> = None;
        for name in path.split('/').filter(|n| !n.is_empty()) {
            let found = self
                .folders
                .values()
                .find(|f| f.parent == parent && f.name == name)
                .map(|f| f.id.clone());
            let id = found.unwrap_or_else(|| {
                self.next_id += 1;
                let id = opaque("AQMkADAwATM0MDAAMS2", self.next_id);
                self.folders.insert(
                    id.clone(),
                    Folder {
                        id: id.clone(),
                        name: name.to_owned(),
                        parent: parent.clone(),
                        role: None,
                    },
                );
                id
            });
            parent = Some(id);
        }
        parent.unwrap_or_else(|| {
            self.folder("inbox")
                .map(|f| f.id.clone())
                .unwrap_or_default()
        })
    }

    pub fn children(&self, parent: Option<&str>) -> Vec<&Folder> {
        self.folders
            .values()
            .filter(|f| f.parent.as_deref() == parent)
            .collect()
    }

    pub fn in_folder(&self, folder: &str) -> Vec<&Message> {
        self.messages
            .values()
            .filter(|m| m.folder == folder)
            .collect()
    }

    /// A message by immutable or default id; a default id from before a move is gone.
    pub fn get(&self, id: &str) -> Option<&Message> {
        if let Some(message) = self.messages.get(id) {
            return Some(message);
        }
        let (base, moves) = id.rsplit_once('-')?;
        let immutable = base.replacen("AAMkA", "AAkAL", 1);
        self.messages
            .get(&immutable)
            .filter(|m| moves.parse() == Ok(m.moves))
    }

    fn record(&mut self, message: &str, from: Option<String>, to: Option<String>, moves: u32) {
        self.seq += 1;
        self.log.push(Change {
            seq: self.seq,
            message: message.to_owned(),
            from,
            to,
            moves,
        });
    }

    fn next_change_key(&mut self) -> String {
        self.next_id += 1;
        opaque("CQAAABYAAA", self.next_id)
    }

    /// Delivers a message into `folder`; returns its immutable id.
    pub fn insert(
        &mut self,
        raw: Arc<[u8]>,
        folder: &str,
        received_ms: i64,
        is_read: bool,
        flagged: bool,
    ) -> String {
        self.next_id += 1;
        let immutable_id = opaque("AAkALgAAAAAAHYQDEapmEc2byACqAC", self.next_id);
        let summary = crate::mail::letter::summary(&raw);
        let root = summary
            .parents
            .first()
            .cloned()
            .or_else(|| summary.message_id.clone())
            .unwrap_or_else(|| immutable_id.clone());
        let next = self.conversations.len() as u64 + 1;
        let conversation_id = self
            .conversations
            .entry(root)
            .or_insert_with(|| opaque("AAQkADAwATM0MDAAMS1hZ", next))
            .clone();
        let change_key = self.next_change_key();
        self.messages.insert(
            immutable_id.clone(),
            Message {
                immutable_id: immutable_id.clone(),
                moves: 0,
                folder: folder.to_owned(),
                is_read,
                flagged,
                categories: Vec::new(),
                change_key,
                received_ms,
                modified_ms: received_ms,
                view: Arc::new(crate::mail::letter::outlook(&raw)),
                raw,
                conversation_id,
            },
        );
        self.record(&immutable_id, None, Some(folder.to_owned()), 0);
        immutable_id
    }

    /// Changes a message in place (read, flag); returns whether it existed.
    pub fn update(&mut self, id: &str, now_ms: i64, change: impl FnOnce(&mut Message)) -> bool {
        let Some(immutable) = self.get(id).map(|m| m.immutable_id.clone()) else {
            return false;
        };
        let key = self.next_change_key();
        let Some(message) = self.messages.get_mut(&immutable) else {
            return false;
        };
        change(message);
        message.change_key = key;
        message.modified_ms = now_ms;
        let (folder, moves) = (message.folder.clone(), message.moves);
        self.record(&immutable, Some(folder.clone()), Some(folder), moves);
        true
    }

    pub fn move_to(&mut self, id: &str, folder: &str, now_ms: i64) -> bool {
        let Some(immutable) = self.get(id).map(|m| m.immutable_id.clone()) else {
            return false;
        };
        let key = self.next_change_key();
        let Some(message) = self.messages.get_mut(&immutable) else {
            return false;
        };
        let from = std::mem::replace(&mut message.folder, folder.to_owned());
        let moves = message.moves;
        message.moves += 1;
        message.change_key = key;
        message.modified_ms = now_ms;
        self.record(&immutable, Some(from), Some(folder.to_owned()), moves);
        true
    }

    pub fn delete(&mut self, id: &str) -> bool {
        let Some(immutable) = self.get(id).map(|m| m.immutable_id.clone()) else {
            return false;
        };
        let Some(message) = self.messages.remove(&immutable) else {
            return false;
        };
        self.record(&immutable, Some(message.folder), None, message.moves);
        true
    }

    /// What changed in `folder` after `since` up to `until`, one entry per message (its
    /// latest change), oldest first.
    pub fn changes(&self, folder: &str, since: u64, until: u64) -> Vec<FolderChange<'_>> {
        let mut latest: BTreeMap<&str, &Change> = BTreeMap::new();
        for change in self.log.iter().filter(|c| c.seq > since && c.seq <= until) {
            if change.from.as_deref() == Some(folder) || change.to.as_deref() == Some(folder) {
                latest.insert(&change.message, change);
            }
        }
        let mut out: Vec<FolderChange<'_>> = latest
            .into_values()
            .map(|change| {
                let message = self.messages.get(&change.message);
                FolderChange {
                    seq: change.seq,
                    immutable_id: change.message.clone(),
                    here: message.filter(|m| m.folder == folder),
                    deleted: message.is_none(),
                    moves: change.moves,
                }
            })
            .collect();
        out.sort_by_key(|c| c.seq);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> Arc<[u8]> {
        Arc::from(&b"Subject: hi\r\n\r\nbody\r\n"[..])
    }

    #[test]
    fn a_move_keeps_the_immutable_id_and_changes_the_default_one() {
        let mut mailbox = OutlookBox::default();
        let inbox = mailbox
            .folder("inbox")
            .map(|f| f.id.clone())
            .unwrap_or_default();
        let archive = mailbox
            .folder("Archive")
            .map(|f| f.id.clone())
            .unwrap_or_default();
        let id = mailbox.insert(raw(), &inbox, 1, false, false);
        let before = mailbox.get(&id).map(|m| m.id(false)).unwrap_or_default();
        assert!(mailbox.get(&before).is_some());
        let since = mailbox.seq();
        assert!(mailbox.move_to(&id, &archive, 2));
        assert!(mailbox.get(&before).is_none(), "the old default id is gone");
        assert!(mailbox.get(&id).is_some(), "the immutable one stays");
        let left = mailbox.changes(&inbox, since, mailbox.seq());
        assert!(
            left.len() == 1 && left[0].here.is_none() && !left[0].deleted,
            "left the inbox, not deleted"
        );
        assert_eq!(
            client_id(&left[0].immutable_id, left[0].moves, false),
            before,
            "as the client knew it"
        );
        let arrived = mailbox.changes(&archive, since, mailbox.seq());
        assert!(arrived[0].here.is_some());
        assert_eq!(
            mailbox.folder_at("Travel/2026"),
            mailbox.folder_at("Travel/2026")
        );
    }
}
