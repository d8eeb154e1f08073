//! Mail: reading messages from outside ([`parse`]) and syncing them, from Gmail
//! ([`gmail`]) and Outlook ([`graph`]), into one store.

pub mod gmail;
pub mod graph;
pub mod parse;
pub mod payload;
pub(crate) mod session;

use crate::providers::google::gmail::GmailError;
use crate::providers::microsoft::graph_mail::GraphError;
use crate::store::mail::RunCounts;
use crate::store::StoreError;
use crate::tokens::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Gmail(#[from] GmailError),
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the provider keeps losing the history Ferry syncs from, so Ferry stopped resyncing this mailbox; it will try again later")]
    ResetLoop,
    #[error("the stored sync checkpoint could not be read: {0}")]
    Checkpoint(String),
    #[error("this account's provider is not configured in this Ferry")]
    NotConfigured,
    #[error("this account is no longer in Ferry")]
    AccountGone,
    #[error("this sync would remove {removing} of the {local} messages Ferry has for this account, so it stopped to ask you first")]
    Held { removing: i64, local: i64 },
}

/// A round removes at most this many items without asking, whatever their share.
pub const REMOVALS_WITHOUT_ASKING: i64 = 50;

/// Whether removing `removing` of `local` items needs the user's word first: more than
/// [`REMOVALS_WITHOUT_ASKING`] and more than a quarter of them.
pub fn needs_asking(removing: i64, local: i64) -> bool {
    removing > REMOVALS_WITHOUT_ASKING && removing * 4 > local
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    pub counts: RunCounts,
    pub pages: usize,
    /// The run stopped at its page limit: run again soon.
    pub more: bool,
    /// The provider had lost the sync state and the run started over.
    pub reset: bool,
    /// The run read the mailbox's labels or folders afresh.
    pub read_folders: bool,
    /// The run started fetching the older mail a deeper setting adds.
    pub deeper: bool,
    /// The run ended with strays: messages that left a folder and arrived in none.
    pub strays: bool,
}

impl Report {
    /// Adds what another run (or another lane of this one) did.
    pub fn absorb(&mut self, other: &Report) {
        self.pages += other.pages;
        self.counts.added += other.counts.added;
        self.counts.changed += other.counts.changed;
        self.counts.removed += other.counts.removed;
        self.counts.requests += other.counts.requests;
        self.counts.quota_units += other.counts.quota_units;
        self.more |= other.more;
        self.reset |= other.reset;
        self.read_folders |= other.read_folders;
        self.deeper |= other.deeper;
        self.strays |= other.strays;
    }
}

/// How often a caught-up mailbox's label or folder list is read again, when nothing
/// sooner calls for it (a full sync, or a change naming a label Ferry does not know).
pub const FOLDERS_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// How soon the folder list is read again while Outlook messages are strays: they left
/// a folder and arrived in none Ferry syncs (most likely one created since the list was
/// last read, which the next read adds).
pub const STRAYS_EVERY: chrono::Duration = chrono::Duration::minutes(5);
