//! Gmail sync (`shared/provider-reference.md` §2.1): a full sync takes the mailbox's
//! `historyId` first, then lists messages newest first and fetches each page's messages
//! through the batch endpoint, each the cheaper way: a conversation of which the page
//! shows three or more messages is fetched whole (`threads.get`, 40 units, which also
//! brings its messages on later pages), any other message alone as raw bytes (20 units).
//! Incremental syncs read the history since the checkpoint. Every page and the checkpoint
//! after it commit together ([`crate::store::mail::apply`]), so a crash anywhere resumes
//! where it stopped without losing or doubling anything. A stale `historyId` (404) starts
//! a full resync that keeps local state; a reset that repeats at once is reported instead
//! of looping.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::parse::{parse, Parsed};
use super::payload::parse_full;
use super::session::{Refusal, Session, THROTTLE_TRIES};
use super::{Report, SyncError};
use crate::providers::google::gmail::{
    units, Content, Fetch, GmailClient, GmailError, HistoryEvent, MessageRef, RawMessage,
};
use crate::store::mail::{
    self, AttachmentRecord, FolderRecord, MailChange, NewMessage, RawFormat, Recipient,
};
use crate::sync::budget::Spent;

/// Messages listed per page of a full sync (Gmail's largest page: the more of a
/// conversation one page shows, the likelier it is fetched whole).
pub const LIST_PAGE: u32 = 500;
/// The inbox's newest messages, fetched before anything else on a first sync.
pub const FIRST_SCREEN: u32 = 50;
/// Messages written per transaction, so that other writers never wait long.
pub const COMMIT_CHUNK: usize = 25;
/// Pages one run commits before it gives the schedule back (the next run goes on).
pub const PAGES_PER_RUN: usize = 20;
/// Calls per batch request at most; fewer after throttling, more again after successes.
const MAX_BATCH: usize = 8;
/// Resets in a row (a stale history right after a full resync) before Ferry stops and
/// reports instead of resyncing again.
const MAX_RESETS: u32 = 2;

/// Where a Gmail account's mail sync stands (stored as JSON with each page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum Checkpoint {
    /// Listing the mailbox; `history_id` was taken before the first page. `since` (unix
    /// seconds) bounds the listing, fixed for all its pages.
    #[serde(rename_all = "camelCase")]
    Full {
        history_id: String,
        page_token: Option<String>,
        listed: u64,
        resets: u32,
        since: i64,
    },
    /// After a resync's listing: asking about each stored message the listing did not
    /// show. Those Gmail answers "not found" for go; the rest stay.
    #[serde(rename_all = "camelCase")]
    Confirm {
        history_id: String,
        resets: u32,
        since: i64,
    },
    /// Reading the history since `history_id` (part-way through its pages when
    /// `page_token` is set). `since` is where the listing that came before reached back
    /// to: a deeper setting lists again from further back.
    #[serde(rename_all = "camelCase")]
    Incremental {
        history_id: String,
        page_token: Option<String>,
        resets: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<i64>,
    },
}

pub(crate) struct GmailSync {
    session: Session,
    client: GmailClient,
    /// How far back a full sync goes (the settings' depth, as of this run).
    since: DateTime<Utc>,
    /// Read the labels even if nothing in this run calls for it (they were last read
    /// [`super::FOLDERS_EVERY`] ago or more).
    labels_due: bool,
}

impl GmailSync {
    pub fn new(
        session: Session,
        client: GmailClient,
        since: DateTime<Utc>,
        labels_due: bool,
    ) -> Self {
        Self {
            session,
            client,
            since,
            labels_due,
        }
    }

    /// Where a full sync starting now reaches back to (unix seconds).
    fn since(&self) -> i64 {
        self.since.timestamp()
    }

    /// A caught-up mailbox whose listing reached less far back than the settings now
    /// ask: a listing from the new depth, which fetches only what is not stored. It goes
    /// on from the history where the poll stopped, so changes made meanwhile still come.
    fn deeper(&self, checkpoint: Checkpoint) -> Checkpoint {
        match checkpoint {
            Checkpoint::Incremental {
                history_id,
                page_token: None,
                since: Some(reached),
                ..
            } if crate::sync::reaches_further(self.since(), reached) => Checkpoint::Full {
                history_id,
                page_token: None,
                listed: 0,
                resets: 0,
                since: self.since(),
            },
            other => other,
        }
    }

    /// One run for `account`: up to [`PAGES_PER_RUN`] pages, each committed with its
    /// checkpoint.
    pub async fn run(&self, account: &str) -> Result<Report, SyncError> {
        let pool = self.session.ctx.store.pool().clone();
        let stored = mail::checkpoint(&pool, account, "").await?;
        let checkpoint: Option<Checkpoint> = stored
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| SyncError::Checkpoint(e.to_string()))?;
        let polled = matches!(checkpoint, Some(Checkpoint::Incremental { .. }));
        let checkpoint = checkpoint.map(|c| self.deeper(c));
        let kind = match &checkpoint {
            Some(Checkpoint::Full { .. }) if polled => "deeper",
            None => "full",
            Some(Checkpoint::Full { resets, .. }) if *resets > 0 => "reset",
            Some(Checkpoint::Confirm { .. }) => "reset",
            Some(Checkpoint::Full { .. }) => "full",
            Some(Checkpoint::Incremental { .. }) => "incremental",
        };
        let run = self.session.start_run(account, kind).await?;
        let mut report = Report::default();
        let outcome = self.pages(account, checkpoint, &mut report).await;
        self.session.finish_run(run, report, outcome).await
    }

    async fn pages(
        &self,
        account: &str,
        stored: Option<Checkpoint>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        // A poll of a caught-up mailbox reads only its history: the labels are read for a
        // full sync, when a change names one Ferry does not know, and once an hour.
        let polling = matches!(stored, Some(Checkpoint::Incremental { .. }));
        let (mut checkpoint, mut folders) = match stored {
            None => (self.first_sync(account, report).await?, None),
            Some(checkpoint) if polling && !self.labels_due => (checkpoint, None),
            Some(checkpoint) => (checkpoint, Some(self.labels(account, report).await?)),
        };
        loop {
            if report.pages >= PAGES_PER_RUN {
                report.more = true;
                return Ok(());
            }
            if self.session.should_stop(account).await? {
                return Ok(());
            }
            let next = match checkpoint {
                Checkpoint::Full {
                    history_id,
                    page_token,
                    listed,
                    resets,
                    since,
                } => {
                    let query = format!("after:{since}");
                    let page = self
                        .session
                        .call(account, report, units::LIST, |t| {
                            let (page_token, query) = (page_token.clone(), query.clone());
                            async move {
                                self.client
                                    .list(&t, page_token.as_deref(), LIST_PAGE, Some(&query))
                                    .await
                            }
                        })
                        .await?;
                    let ids: Vec<String> = page.messages.iter().map(|m| m.id.clone()).collect();
                    // After a crash part-way through this page, what is stored already is
                    // not fetched again (changes since come from the history); nor is what
                    // a conversation fetched for an earlier page brought. A resync fetches
                    // everything: the history that would have told is gone.
                    let pool = self.session.ctx.store.pool();
                    let wanted: Vec<&MessageRef> = if resets > 0 {
                        page.messages.iter().collect()
                    } else {
                        let stored = mail::existing(pool, account, &ids).await?;
                        page.messages
                            .iter()
                            .filter(|m| !stored.contains(&m.id))
                            .collect()
                    };
                    let calls = plan(&wanted);
                    let wanted: BTreeSet<&str> = wanted.iter().map(|m| m.id.as_str()).collect();
                    let this_page = Checkpoint::Full {
                        history_id: history_id.clone(),
                        page_token: page_token.clone(),
                        listed,
                        resets,
                        since,
                    };
                    let listed = listed + ids.len() as u64;
                    let next = match page.next_page_token {
                        Some(token) => Checkpoint::Full {
                            history_id,
                            page_token: Some(token),
                            listed,
                            resets,
                            since,
                        },
                        // A resync asks about what its listing did not show.
                        None if resets > 0 => Checkpoint::Confirm {
                            history_id,
                            resets,
                            since,
                        },
                        None => Checkpoint::Incremental {
                            history_id,
                            page_token: None,
                            resets,
                            since: Some(since),
                        },
                    };
                    // What a resync's listing showed, noted with the checkpoint past it.
                    let mut shown: Vec<MailChange> = if resets > 0 {
                        ids.iter()
                            .map(|id| MailChange::Listed { id: id.clone() })
                            .collect()
                    } else {
                        Vec::new()
                    };
                    // Short transactions, so that nothing else waits long for the database:
                    // every chunk but the last keeps this page's checkpoint.
                    let chunks: Vec<&[Fetch]> = calls.chunks(COMMIT_CHUNK).collect();
                    let last = chunks.len().saturating_sub(1);
                    for (n, chunk) in chunks.iter().enumerate() {
                        let fetched = self.fetch(account, chunk, report).await?;
                        let fetched = self
                            .kept(account, fetched, &wanted, resets > 0, since)
                            .await?;
                        let mut changes: Vec<MailChange> = fetched
                            .into_iter()
                            .map(|m| MailChange::Upsert(Box::new(new_message(m))))
                            .collect();
                        if n == last {
                            changes.append(&mut shown);
                        }
                        let checkpoint = if n == last { &next } else { &this_page };
                        self.session
                            .commit(
                                account,
                                "",
                                checkpoint,
                                changes,
                                folders.take().unwrap_or_default(),
                                report,
                            )
                            .await?;
                    }
                    if chunks.is_empty() {
                        self.session
                            .commit(
                                account,
                                "",
                                &next,
                                shown,
                                folders.take().unwrap_or_default(),
                                report,
                            )
                            .await?;
                    }
                    next
                }
                Checkpoint::Confirm {
                    history_id,
                    resets,
                    since,
                } => {
                    let pool = self.session.ctx.store.pool();
                    let asked =
                        mail::unlisted(pool, account, "", None, since * 1000, COMMIT_CHUNK as u32)
                            .await?;
                    if asked.is_empty() {
                        let next = Checkpoint::Incremental {
                            history_id,
                            page_token: None,
                            resets,
                            since: Some(since),
                        };
                        let done = vec![MailChange::ResyncDone];
                        let folders = folders.take().unwrap_or_default();
                        self.session
                            .commit(account, "", &next, done, folders, report)
                            .await?;
                        next
                    } else {
                        // Only Gmail's "not found" removes a message; one it still has
                        // (in Trash or Spam, say, which listings leave out) is updated.
                        let found: BTreeMap<String, RawMessage> = self
                            .fetch(account, &by_message(&asked), report)
                            .await?
                            .into_iter()
                            .map(|m| (m.id.clone(), m))
                            .collect();
                        let mut changes = Vec::with_capacity(asked.len() * 2);
                        for id in asked {
                            match found.get(&id) {
                                Some(message) => {
                                    changes.push(MailChange::Upsert(Box::new(new_message(
                                        message.clone(),
                                    ))));
                                    changes.push(MailChange::Listed { id });
                                }
                                // Noted as asked too: if the user keeps what Gmail
                                // removed, it is not asked about again.
                                None => {
                                    changes.push(MailChange::Remove {
                                        id: id.clone(),
                                        folder: None,
                                    });
                                    changes.push(MailChange::Listed { id });
                                }
                            }
                        }
                        let this = Checkpoint::Confirm {
                            history_id,
                            resets,
                            since,
                        };
                        let folders = folders.take().unwrap_or_default();
                        self.session
                            .commit(account, "", &this, changes, folders, report)
                            .await?;
                        this
                    }
                }
                Checkpoint::Incremental {
                    history_id,
                    page_token,
                    resets,
                    since: reached,
                } => {
                    let start = history_id.clone();
                    let answer =
                        self.session
                            .call(account, report, units::HISTORY, |t| {
                                let (start, page_token) = (start.clone(), page_token.clone());
                                async move {
                                    self.client.history(&t, &start, page_token.as_deref()).await
                                }
                            })
                            .await;
                    let page = match answer {
                        Ok(page) => page,
                        Err(SyncError::Gmail(GmailError::StaleHistory)) => {
                            if resets >= MAX_RESETS {
                                return Err(SyncError::ResetLoop);
                            }
                            tracing::warn!(
                                account,
                                "Gmail's history is gone; resyncing the mailbox"
                            );
                            report.reset = true;
                            if !report.read_folders {
                                folders = Some(self.labels(account, report).await?);
                            }
                            // The new checkpoint is taken before the resync starts.
                            let profile = self
                                .session
                                .call(account, report, units::PROFILE, |t| async move {
                                    self.client.profile(&t).await
                                })
                                .await?;
                            checkpoint = Checkpoint::Full {
                                history_id: profile.history_id,
                                page_token: None,
                                listed: 0,
                                resets: resets + 1,
                                since: self.since(),
                            };
                            continue;
                        }
                        Err(other) => return Err(other),
                    };
                    let caught_up = page.next_page_token.is_none();
                    if folders.is_none() && !report.read_folders {
                        let known =
                            mail::folder_ids(self.session.ctx.store.pool(), account).await?;
                        let unknown = page.events.iter().any(|e| match e {
                            HistoryEvent::Added { labels, .. }
                            | HistoryEvent::LabelsAdded { labels, .. } => {
                                labels.iter().any(|l| !known.contains(l))
                            }
                            _ => false,
                        });
                        if unknown {
                            folders = Some(self.labels(account, report).await?);
                        }
                    }
                    let changes = self.history_changes(account, page.events, report).await?;
                    let next = match page.next_page_token {
                        Some(token) => Checkpoint::Incremental {
                            history_id,
                            page_token: Some(token),
                            resets: 0,
                            since: reached,
                        },
                        None => Checkpoint::Incremental {
                            history_id: page.history_id,
                            page_token: None,
                            resets: 0,
                            since: reached,
                        },
                    };
                    self.session
                        .commit(
                            account,
                            "",
                            &next,
                            changes,
                            folders.take().unwrap_or_default(),
                            report,
                        )
                        .await?;
                    if caught_up {
                        return Ok(());
                    }
                    next
                }
            };
            checkpoint = next;
        }
    }

    /// A first sync's start: the labels, and the checkpoint it starts from (taken before
    /// the listing starts), side by side; then the first screen, the inbox's newest
    /// messages, before the rest of the mailbox (whose listing then skips them as
    /// stored). Returns the checkpoint the listing goes on from.
    async fn first_sync(
        &self,
        account: &str,
        report: &mut Report,
    ) -> Result<Checkpoint, SyncError> {
        let mut other = Report::default();
        let (labels, profile) = tokio::join!(
            self.labels(account, report),
            self.session
                .call(account, &mut other, units::PROFILE, |t| async move {
                    self.client.profile(&t).await
                })
        );
        report.absorb(&other);
        let checkpoint = Checkpoint::Full {
            history_id: profile?.history_id,
            page_token: None,
            listed: 0,
            resets: 0,
            since: self.since(),
        };
        self.first_screen(account, &checkpoint, labels?, report)
            .await?;
        Ok(checkpoint)
    }

    /// Fetches and commits the newest [`FIRST_SCREEN`] messages of the inbox, with the
    /// first sync's checkpoint and the labels.
    async fn first_screen(
        &self,
        account: &str,
        checkpoint: &Checkpoint,
        labels: Vec<FolderRecord>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let Checkpoint::Full { since, .. } = checkpoint else {
            return Ok(());
        };
        let query = format!("in:inbox after:{since}");
        let page = self
            .session
            .call(account, report, units::LIST, |t| {
                let query = query.clone();
                async move { self.client.list(&t, None, FIRST_SCREEN, Some(&query)).await }
            })
            .await?;
        let ids: Vec<String> = page.messages.into_iter().map(|m| m.id).collect();
        let mut labels = Some(labels);
        for chunk in by_message(&ids).chunks(COMMIT_CHUNK) {
            let changes = self
                .fetch(account, chunk, report)
                .await?
                .into_iter()
                .map(|m| MailChange::Upsert(Box::new(new_message(m))))
                .collect();
            let folders = labels.take().unwrap_or_default();
            self.session
                .commit(account, "", checkpoint, changes, folders, report)
                .await?;
        }
        if let Some(folders) = labels {
            self.session
                .commit(account, "", checkpoint, Vec::new(), folders, report)
                .await?;
        }
        Ok(())
    }

    async fn labels(
        &self,
        account: &str,
        report: &mut Report,
    ) -> Result<Vec<FolderRecord>, SyncError> {
        let labels = self
            .session
            .call(account, report, units::LABELS, |t| async move {
                self.client.labels(&t).await
            })
            .await?;
        report.read_folders = true;
        Ok(labels
            .into_iter()
            .map(|l| FolderRecord {
                id: l.id,
                name: l.name,
                system: l.system,
                parent_id: None,
            })
            .collect())
    }

    /// History events into store changes; added messages are fetched (unless deleted
    /// later in the same page, or gone already).
    async fn history_changes(
        &self,
        account: &str,
        events: Vec<HistoryEvent>,
        report: &mut Report,
    ) -> Result<Vec<MailChange>, SyncError> {
        let deleted: BTreeSet<&str> = events
            .iter()
            .filter_map(|e| match e {
                HistoryEvent::Deleted { id } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        let added: Vec<String> = events
            .iter()
            .filter_map(|e| match e {
                HistoryEvent::Added { id, .. } if !deleted.contains(id.as_str()) => {
                    Some(id.clone())
                }
                _ => None,
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let fetched: BTreeMap<String, RawMessage> = self
            .fetch(account, &by_message(&added), report)
            .await?
            .into_iter()
            .map(|m| (m.id.clone(), m))
            .collect();
        let mut changes = Vec::new();
        for event in events {
            match event {
                HistoryEvent::Added { id, .. } => {
                    if let Some(message) = fetched.get(&id) {
                        changes.push(MailChange::Upsert(Box::new(new_message(message.clone()))));
                    }
                }
                HistoryEvent::Deleted { id } => {
                    changes.push(MailChange::Remove { id, folder: None })
                }
                HistoryEvent::LabelsAdded { id, labels } => changes.push(MailChange::Flags {
                    unread: labels.iter().any(|l| l == "UNREAD").then_some(true),
                    starred: labels.iter().any(|l| l == "STARRED").then_some(true),
                    add_folders: labels,
                    remove_folders: Vec::new(),
                    id,
                }),
                HistoryEvent::LabelsRemoved { id, labels } => changes.push(MailChange::Flags {
                    unread: labels.iter().any(|l| l == "UNREAD").then_some(false),
                    starred: labels.iter().any(|l| l == "STARRED").then_some(false),
                    add_folders: Vec::new(),
                    remove_folders: labels,
                    id,
                }),
            }
        }
        Ok(changes)
    }

    /// Of what a page's calls brought, what to store: the messages asked for, and the
    /// other messages of a conversation fetched whole that the listing would show
    /// (within the depth, not in Spam or Trash) and the store does not have yet. A resync
    /// keeps only what it asked for: it asks for everything.
    async fn kept(
        &self,
        account: &str,
        fetched: Vec<RawMessage>,
        wanted: &BTreeSet<&str>,
        resync: bool,
        since: i64,
    ) -> Result<Vec<RawMessage>, SyncError> {
        let listable = |m: &RawMessage| {
            m.internal_date >= since * 1000
                && !m.label_ids.iter().any(|l| l == "SPAM" || l == "TRASH")
        };
        let others: Vec<String> = fetched
            .iter()
            .filter(|m| !resync && !wanted.contains(m.id.as_str()) && listable(m))
            .map(|m| m.id.clone())
            .collect();
        let stored = mail::existing(self.session.ctx.store.pool(), account, &others).await?;
        let others: BTreeSet<&str> = others
            .iter()
            .filter(|id| !stored.contains(*id))
            .map(String::as_str)
            .collect();
        let mut seen = BTreeSet::new();
        Ok(fetched
            .into_iter()
            .filter(|m| wanted.contains(m.id.as_str()) || others.contains(m.id.as_str()))
            .filter(|m| seen.insert(m.id.clone()))
            .collect())
    }

    /// Fetches messages and conversations in batches within the budget. A message gone
    /// meanwhile (404) is left out; throttled calls are tried again in smaller batches.
    async fn fetch(
        &self,
        account: &str,
        calls: &[Fetch],
        report: &mut Report,
    ) -> Result<Vec<RawMessage>, SyncError> {
        let mut out = Vec::with_capacity(calls.len());
        let mut pending: Vec<Fetch> = calls.to_vec();
        let mut batch = MAX_BATCH
            .min(self.session.budget.limits().concurrent)
            .max(1);
        let mut throttled_rounds = 0;
        while !pending.is_empty() {
            let chunk: Vec<Fetch> = pending.drain(..batch.min(pending.len())).collect();
            let mut slots: Vec<Spent> = Vec::with_capacity(chunk.len());
            for call in &chunk {
                slots.push(self.session.budget.spend(call.units()).await);
                report.counts.quota_units += call.units();
            }
            report.counts.requests += chunk.len() as u64;
            let answers = self
                .session
                .with_token(account, |t| {
                    let chunk = chunk.clone();
                    async move { self.client.batch(&t, &chunk).await }
                })
                .await;
            drop(slots);
            let answers = match answers {
                Ok(answers) => answers,
                Err(Refusal::Throttled(retry_after)) => {
                    self.session.pause(retry_after);
                    pending.splice(0..0, chunk);
                    throttled_rounds += 1;
                    if throttled_rounds > THROTTLE_TRIES {
                        return Err(GmailError::Throttled {
                            retry_after,
                            concurrent: false,
                        }
                        .into());
                    }
                    continue;
                }
                Err(Refusal::Failed(err)) => return Err(err),
            };
            let mut retry = Vec::new();
            for (call, answer) in answers {
                match answer {
                    Ok(mut messages) => out.append(&mut messages),
                    Err(GmailError::NotFound) => {}
                    Err(GmailError::Throttled { retry_after, .. }) => {
                        self.session.pause(retry_after);
                        retry.push(call);
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            if retry.is_empty() {
                batch = (batch + 1).min(MAX_BATCH);
                throttled_rounds = 0;
            } else {
                tracing::info!(
                    account,
                    refused = retry.len(),
                    "Gmail throttled calls in a batch; smaller batches"
                );
                batch = (batch / 2).max(1);
                throttled_rounds += 1;
                if throttled_rounds > THROTTLE_TRIES {
                    return Err(GmailError::Throttled {
                        retry_after: None,
                        concurrent: true,
                    }
                    .into());
                }
                pending.splice(0..0, retry);
            }
        }
        Ok(out)
    }
}

/// Each message asked for alone.
fn by_message(ids: &[String]) -> Vec<Fetch> {
    ids.iter().cloned().map(Fetch::Message).collect()
}

/// The cheaper calls for `wanted` (in the listing's order, newest first): a conversation
/// of which three or more messages are wanted is fetched whole (its 40 units cost less
/// than three 20-unit gets); any other message alone, as raw bytes.
fn plan(wanted: &[&MessageRef]) -> Vec<Fetch> {
    let mut per_thread: BTreeMap<&str, u64> = BTreeMap::new();
    for m in wanted {
        *per_thread.entry(m.thread_id.as_str()).or_default() += 1;
    }
    let whole = |thread: &str| {
        !thread.is_empty()
            && per_thread.get(thread).copied().unwrap_or_default() * units::GET > units::THREAD
    };
    let mut planned = BTreeSet::new();
    wanted
        .iter()
        .filter_map(|m| {
            let call = if whole(&m.thread_id) {
                Fetch::Thread(m.thread_id.clone())
            } else {
                Fetch::Message(m.id.clone())
            };
            planned.insert(call.clone()).then_some(call)
        })
        .collect()
}

/// What the store keeps of a fetched message (public for the benchmarks, which fill a
/// store the way a sync does).
pub fn new_message(m: RawMessage) -> NewMessage {
    let (parsed, raw_format) = match m.content {
        Content::Rfc822 => (parse(&m.raw), RawFormat::Rfc822),
        Content::Full => (parse_full(&m.raw), RawFormat::GmailJson),
    };
    let unread = m.label_ids.iter().any(|l| l == "UNREAD");
    let starred = m.label_ids.iter().any(|l| l == "STARRED");
    let base = NewMessage {
        id: m.id.clone(),
        thread_id: m.thread_id.clone(),
        message_id: None,
        subject: String::new(),
        from_name: String::new(),
        from_address: String::new(),
        recipients: Vec::new(),
        received_at: m.internal_date,
        snippet: String::new(),
        body_text: String::new(),
        has_html: false,
        unread,
        starred,
        attachments: Vec::new(),
        raw: Vec::new(),
        raw_format,
        problem: None,
        version: Some(m.history_id.clone()),
        folders: m.label_ids.clone(),
    };
    let message = match parsed {
        Parsed::Mail(parsed) => {
            let from = parsed.from.first().cloned().unwrap_or_default();
            let recipients = [("to", &parsed.to), ("cc", &parsed.cc)]
                .into_iter()
                .flat_map(|(kind, list)| {
                    list.iter().map(move |a| Recipient {
                        kind: kind.to_owned(),
                        name: a.name.clone(),
                        address: a.address.clone(),
                    })
                })
                .collect();
            NewMessage {
                message_id: parsed.message_id.clone(),
                subject: parsed.subject.clone(),
                from_name: from.name,
                from_address: from.address,
                recipients,
                snippet: parsed.snippet.clone(),
                body_text: parsed.text.clone(),
                has_html: parsed.html.is_some(),
                attachments: parsed
                    .attachments
                    .iter()
                    .map(|a| AttachmentRecord {
                        index: a.index,
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        inline: a.inline,
                        content_id: a.content_id.clone(),
                    })
                    .collect(),
                problem: (!parsed.problems.is_empty()).then(|| parsed.problems.join("; ")),
                ..base
            }
        }
        Parsed::Unreadable { reason } => NewMessage {
            problem: Some(reason),
            ..base
        },
    };
    NewMessage {
        raw: m.raw,
        ..message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(pairs: &[(&str, &str)]) -> Vec<MessageRef> {
        pairs
            .iter()
            .map(|(id, thread)| MessageRef {
                id: (*id).to_owned(),
                thread_id: (*thread).to_owned(),
            })
            .collect()
    }

    #[test]
    fn a_conversation_is_fetched_whole_only_when_that_costs_less() {
        let page = listed(&[
            ("a1", "A"),
            ("b1", "B"),
            ("a2", "A"),
            ("c1", "C"),
            ("b2", "B"),
            ("a3", "A"),
            ("x", ""),
        ]);
        let wanted: Vec<&MessageRef> = page.iter().collect();
        assert_eq!(
            plan(&wanted),
            vec![
                // Three of A: one threads.get (40 units) instead of three gets (60).
                Fetch::Thread("A".into()),
                // Two of B cost the same either way: each alone, as raw bytes.
                Fetch::Message("b1".into()),
                Fetch::Message("c1".into()),
                Fetch::Message("b2".into()),
                // A message without a thread id is fetched alone.
                Fetch::Message("x".into()),
            ]
        );
        assert!(plan(&[]).is_empty());
    }
}
