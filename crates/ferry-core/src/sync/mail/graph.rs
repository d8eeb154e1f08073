//! Outlook mail sync through Graph (`shared/provider-reference.md` §2.4, §2.5): one delta
//! round per folder, each page committed with the link that follows it (a `nextLink`
//! while the round goes on, the `deltaLink` once it is over). Items are merged by their
//! immutable id, so replays and repeats change nothing; a message moved between folders
//! leaves one and arrives in the other in either order without being lost. An evicted or
//! reset delta token starts the folder's round again, keeping local state.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::session::Session;
use super::{Report, SyncError};
use crate::providers::microsoft::graph_mail::{
    DeltaItem, DeltaPage, Folder, GraphError, GraphMailClient, BATCH_PARALLEL, FIRST_PAGE_SIZE,
    MAX_BATCH, PAGE_SIZE,
};
use crate::store::mail::{
    self, AttachmentRecord, FolderRecord, MailChange, NewMessage, RawFormat, Recipient,
};

/// Folders synced at once: Graph allows four concurrent requests per mailbox.
const LANES: usize = 4;
/// Delta pages one run commits before it gives the schedule back.
pub const PAGES_PER_RUN: usize = 40;
const PAGES_PER_LANE: usize = PAGES_PER_RUN / LANES;
/// Messages written per transaction: a page at the largest size Ferry asks for, so that a
/// page and its checkpoint normally commit together. Each transaction rewrites the index
/// pages it touches, so a thousand at once writes a quarter less than a hundred at a time
/// ten times over, and the writer is held for about a tenth of a second. (Public for the
/// benchmark that writes pages the same way.)
pub const COMMIT_CHUNK: usize = PAGE_SIZE as usize;
/// Batches of child folders read before Ferry stops and reports a folder tree that does
/// not end (Exchange nests folders at most 300 deep).
const MAX_FOLDER_STEPS: usize = 1000;
/// Pages of a folder fetched and waiting to be written, at most.
const AHEAD: usize = 2;
/// Folder resets in a row before Ferry stops and reports instead of starting over again.
const MAX_RESETS: u32 = 2;

/// Where one folder's delta stands (stored per folder as JSON with each page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The link to follow next: a `nextLink` mid-round, the `deltaLink` between rounds.
    pub link: String,
    /// The last round finished (the link is a `deltaLink`) and nothing is left to list.
    pub caught_up: bool,
    pub resets: u32,
    /// This is the folder's first round (or its first after a reset), filtered to the
    /// backfill window: Graph returns at most 5,000 messages for such a round.
    #[serde(default)]
    pub initial: bool,
    /// The oldest `receivedDateTime` the first round brought so far.
    #[serde(default)]
    pub oldest: Option<String>,
    /// Items the first round brought so far; `None` when not counted (a round begun by an
    /// earlier Ferry). A round that ends short of Graph's cap left nothing out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<u32>,
    /// After the first round: the listing of what it left out (received in the window
    /// before its oldest message), page by page; `link` keeps the round's `deltaLink`.
    #[serde(default)]
    pub backfill: Option<String>,
    /// Where the window of the round that first filled the folder starts (unix
    /// seconds): a deeper setting starts a round from further back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<i64>,
    /// This round started over after Graph lost the folder's delta: each message it
    /// shows is noted, so that what it does not show can be asked about afterwards.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resync: bool,
    /// The resync's round and listing are over: asking Graph about each stored message
    /// of the folder they did not show. Only "not found" removes one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub confirm: bool,
}

impl Checkpoint {
    fn first_round(link: String, resets: u32, since: DateTime<Utc>) -> Self {
        Checkpoint {
            link,
            caught_up: false,
            resets,
            initial: true,
            oldest: None,
            seen: Some(0),
            backfill: None,
            since: Some(since.timestamp()),
            resync: resets > 0,
            confirm: false,
        }
    }

    /// The checkpoint once this round (and its listing) is over: caught up, or, after a
    /// resync, asking about what it did not show.
    fn round_over(mut self) -> Self {
        self.caught_up = !self.resync;
        self.confirm = self.resync;
        self
    }

    /// Caught up, with nothing left to list.
    fn polled(&self) -> bool {
        self.caught_up && self.backfill.is_none()
    }

    /// What its next page is asked with: (whether it is a listing's page, the link).
    fn request(&self) -> (bool, String) {
        match &self.backfill {
            Some(listing) => (true, listing.clone()),
            None => (false, self.link.clone()),
        }
    }

    /// Whether a window from `since` reaches further back than this folder's did.
    fn shallower_than(&self, since: DateTime<Utc>) -> bool {
        self.since
            .is_some_and(|reached| crate::sync::reaches_further(since.timestamp(), reached))
    }
}

pub(crate) struct GraphSync {
    session: Session,
    client: GraphMailClient,
    /// How far back a folder's first round goes (the settings' depth, as of this run).
    since: DateTime<Utc>,
    /// Read the folder list even when every folder is caught up (it was last read
    /// [`super::FOLDERS_EVERY`] ago or more).
    folders_due: bool,
}

impl GraphSync {
    pub fn new(
        session: Session,
        client: GraphMailClient,
        since: DateTime<Utc>,
        folders_due: bool,
    ) -> Self {
        Self {
            session,
            client,
            since,
            folders_due,
        }
    }

    /// The folders to sync: as stored, when a poll finds every folder caught up and the
    /// list was read within the hour; else read from Graph (a first sync, a round under
    /// way, or the hourly look for new folders).
    async fn folders(
        &self,
        account: &str,
        report: &mut Report,
    ) -> Result<(Vec<Folder>, bool), SyncError> {
        let pool = self.session.ctx.store.pool();
        if !self.folders_due {
            let checkpoints = mail::checkpoints(pool, account).await?;
            let polling = !checkpoints.is_empty()
                && checkpoints.iter().all(|(json, _)| {
                    serde_json::from_str::<Checkpoint>(json).is_ok_and(|c| c.caught_up)
                });
            if polling {
                let stored = mail::folder_list(pool, account).await?;
                if !stored.is_empty() {
                    let folders = stored
                        .into_iter()
                        .map(|f| Folder {
                            id: f.id,
                            name: f.name,
                            parent: f.parent_id,
                            total: 0,
                        })
                        .collect();
                    return Ok((folders, false));
                }
            }
        }
        // The folders under the root and which of them are the well-known ones (their
        // display names are in the mailbox's language, "Posteingang" for the inbox) in one
        // batch, then each level of child folders in one more.
        let names: Vec<&str> = WELL_KNOWN.iter().map(|(name, _)| *name).collect();
        let (roots, known) = self
            .session
            .call_batch(
                account,
                report,
                1 + names.len() as u64,
                BATCH_PARALLEL,
                |t| {
                    let names = names.clone();
                    async move { self.client.folder_roots(&t, &names).await }
                },
            )
            .await?;
        let mut folders = roots.folders;
        let mut left = roots.next;
        let mut steps = 0;
        while !left.is_empty() {
            steps += 1;
            if steps > MAX_FOLDER_STEPS {
                return Err(SyncError::Graph(GraphError::BadReply(
                    "the folder tree does not end".into(),
                )));
            }
            let group: Vec<_> = left.drain(..left.len().min(MAX_BATCH)).collect();
            let level = self
                .session
                .call_batch(account, report, group.len() as u64, BATCH_PARALLEL, |t| {
                    let group = group.clone();
                    async move { self.client.folder_level(&t, &group).await }
                })
                .await?;
            folders.extend(level.folders);
            left.extend(level.next);
        }
        // Ferry names the well-known folders itself, as it does Gmail's system labels.
        for folder in &mut folders {
            let role = known
                .iter()
                .position(|id| id.as_deref() == Some(&folder.id));
            if let Some((_, name)) = role.and_then(|n| WELL_KNOWN.get(n)) {
                folder.name = (*name).to_owned();
            }
        }
        report.read_folders = true;
        Ok((folders, true))
    }

    /// One run: the folder list, then each folder's delta until it is caught up, four
    /// folders at a time (up to [`PAGES_PER_RUN`] pages in all).
    pub async fn run(&self, account: &str) -> Result<Report, SyncError> {
        let run = self.session.start_run(account, "incremental").await?;
        let mut report = Report::default();
        let mut outcome = self.folders_in_turn(account, &mut report).await;
        if outcome.is_ok() {
            // Messages that left a folder and arrived in none Ferry syncs stay (nothing goes
            // for an absence); the folder they went to is looked for sooner.
            match mail::has_strays(self.session.ctx.store.pool(), account).await {
                Ok(strays) => report.strays = strays,
                Err(err) => outcome = Err(err.into()),
            }
        }
        self.session.finish_run(run, report, outcome).await
    }

    async fn folders_in_turn(&self, account: &str, report: &mut Report) -> Result<(), SyncError> {
        let (mut folders, fresh) = self.folders(account, report).await?;
        // The inbox first: its newest mail is what the user looks for. Then the largest
        // folders, whose rounds take longest, so that the small ones fill in beside them.
        folders.sort_by_key(|f| (!is_inbox(f), std::cmp::Reverse(f.total), f.name.clone()));
        let records: Vec<FolderRecord> = folders
            .iter()
            .map(|f| FolderRecord {
                id: f.id.clone(),
                name: f.name.clone(),
                system: f.parent.is_none() && WELL_KNOWN.iter().any(|(_, name)| *name == f.name),
                parent_id: f.parent.clone(),
            })
            .collect();
        // Folders as stored need no writing again; else the first page committed writes them.
        let records = Mutex::new(fresh.then_some(records));
        let since = self.since;
        // A poll of caught-up folders asks all their deltas in one batch; a folder with
        // more to read than one page, or whose answer failed, goes on below on its own.
        let mut pending: Vec<&Folder> = folders.iter().collect();
        if !fresh {
            pending = self.poll_batched(account, pending, since, report).await?;
        }
        // Up to four folders at once (Graph's limit per mailbox), each its own chain of
        // pages; a lane takes the next folder when its own is caught up.
        let queue = Mutex::new(pending.into_iter().collect::<VecDeque<_>>());
        let lane = || async {
            let mut lane = Report::default();
            loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                let Some(folder) = next else {
                    return (lane, Ok(()));
                };
                if let Err(err) = self
                    .folder(account, folder, since, &records, &mut lane)
                    .await
                {
                    return (lane, Err(err));
                }
                if lane.more {
                    return (lane, Ok(()));
                }
            }
        };
        let lanes = tokio::join!(lane(), lane(), lane(), lane());
        let mut outcome = Ok(());
        for (lane, result) in [lanes.0, lanes.1, lanes.2, lanes.3] {
            report.absorb(&lane);
            if outcome.is_ok() {
                outcome = result;
            }
        }
        outcome
    }

    async fn folder(
        &self,
        account: &str,
        of: &Folder,
        since: DateTime<Utc>,
        records: &Mutex<Option<Vec<FolderRecord>>>,
        report: &mut Report,
    ) -> Result<bool, SyncError> {
        let folder = of.id.as_str();
        let stored = mail::checkpoint(self.session.ctx.store.pool(), account, folder).await?;
        // The first page of the inbox's round is small, so its newest mail shows at once.
        let small_first = is_inbox(of);
        let mut first = small_first && stored.is_none();
        let mut checkpoint: Checkpoint = match stored {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| SyncError::Checkpoint(e.to_string()))?
            }
            None => Checkpoint::first_round(self.client.initial_link(folder, since)?, 0, since),
        };
        // The settings now reach further back than the folder's first round did: a new
        // round over the deeper window (what is stored merges by id; nothing is removed).
        if checkpoint.polled() && checkpoint.shallower_than(since) {
            checkpoint =
                Checkpoint::first_round(self.client.initial_link(folder, since)?, 0, since);
            report.deeper = true;
        }
        loop {
            if checkpoint.confirm {
                if report.counts.requests >= PAGES_PER_LANE as u64 {
                    report.more = true;
                    return Ok(false);
                }
                if self.session.should_stop(account).await? {
                    return Ok(false);
                }
                checkpoint = self
                    .confirm(account, folder, checkpoint, records, report)
                    .await?;
                if checkpoint.caught_up {
                    return Ok(true);
                }
                continue;
            }
            // The round (and its listing): pages are fetched while earlier ones are
            // written, up to [`AHEAD`] of them waiting, so that the chain of links goes
            // on at the network's pace while the single writer works through them. The
            // fetching checks this lane's requests and a stop before each page.
            let (pages, mut written) = tokio::sync::mpsc::channel(AHEAD);
            let mut fetched = Report::default();
            let fetching = self.fetch_round(
                account,
                folder,
                since,
                checkpoint.clone(),
                (first, small_first),
                (PAGES_PER_LANE as u64).saturating_sub(report.counts.requests),
                pages,
                &mut fetched,
            );
            let writing = async {
                let mut last = None;
                while let Some((at, next, page)) = written.recv().await {
                    self.apply_page(account, folder, &at, &next, page, records, report)
                        .await?;
                    last = Some(next);
                }
                Ok::<_, SyncError>(last)
            };
            let (fetch_end, write_end) = tokio::join!(fetching, writing);
            report.absorb(&fetched);
            let last = write_end?;
            fetch_end?;
            first = false;
            match last {
                Some(next) => checkpoint = next,
                // Stopped before a page came: nothing moved.
                None => return Ok(false),
            }
            if checkpoint.caught_up {
                return Ok(true);
            }
            if !checkpoint.confirm {
                // Stopped mid-round (out of requests, or asked to stop).
                return Ok(false);
            }
        }
    }

    /// Fetches a folder's round (and its listing) from `checkpoint` on, handing each page
    /// with the checkpoints before and past it to `pages`, until the round is over, the
    /// `requests` this lane has left run out, the sync is asked to stop, or the writer
    /// has stopped.
    #[allow(clippy::too_many_arguments)] // one folder's round and where it goes
    async fn fetch_round(
        &self,
        account: &str,
        folder: &str,
        since: DateTime<Utc>,
        mut checkpoint: Checkpoint,
        (mut first, small_first): (bool, bool),
        requests: u64,
        pages: tokio::sync::mpsc::Sender<(Checkpoint, Checkpoint, DeltaPage)>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        loop {
            if report.counts.requests >= requests {
                report.more = true;
                return Ok(());
            }
            if pages.is_closed() || self.session.should_stop(account).await? {
                return Ok(());
            }
            let (listing, link) = checkpoint.request();
            let size = if first { FIRST_PAGE_SIZE } else { PAGE_SIZE };
            first = false;
            let page = match self.page(account, listing, &link, size, report).await {
                Ok(page) => page,
                Err(SyncError::Graph(GraphError::SyncReset { restart })) => {
                    if checkpoint.resets >= MAX_RESETS {
                        return Err(SyncError::ResetLoop);
                    }
                    tracing::warn!(
                        account,
                        folder,
                        "Graph lost the folder's delta; starting its round again"
                    );
                    report.reset = true;
                    let link = match restart {
                        Some(location) => location,
                        None => self.client.initial_link(folder, since)?,
                    };
                    checkpoint = Checkpoint::first_round(link, checkpoint.resets + 1, since);
                    first = small_first;
                    continue;
                }
                Err(other) => return Err(other),
            };
            let next = self.after_page(folder, since, &checkpoint, listing, &page)?;
            let over = next.caught_up || next.confirm;
            if pages.send((checkpoint, next.clone(), page)).await.is_err() {
                return Ok(());
            }
            if over {
                return Ok(());
            }
            checkpoint = next;
        }
    }

    /// One page of a folder's delta round or listing, within the budget.
    async fn page(
        &self,
        account: &str,
        listing: bool,
        link: &str,
        size: u32,
        report: &mut Report,
    ) -> Result<DeltaPage, SyncError> {
        self.session
            .call(account, report, 1, |t| async move {
                if listing {
                    self.client.listing(&t, link).await
                } else {
                    self.client.delta(&t, link, size).await
                }
            })
            .await
    }

    /// Where a folder stands once `page` (a delta round's or a listing's, fetched at
    /// `checkpoint`) is written.
    fn after_page(
        &self,
        folder: &str,
        since: DateTime<Utc>,
        checkpoint: &Checkpoint,
        listing: bool,
        page: &DeltaPage,
    ) -> Result<Checkpoint, SyncError> {
        if listing {
            let next = Checkpoint {
                link: checkpoint.link.clone(),
                caught_up: false,
                resets: checkpoint.resets,
                initial: false,
                oldest: None,
                seen: None,
                backfill: page.next_link.clone(),
                since: checkpoint.since,
                resync: checkpoint.resync,
                confirm: false,
            };
            return Ok(if next.backfill.is_none() {
                next.round_over()
            } else {
                next
            });
        }
        let oldest_here = page
            .items
            .iter()
            .filter_map(|item| match item {
                DeltaItem::Message { json, .. } => json["receivedDateTime"].as_str(),
                DeltaItem::Removed { .. } => None,
            })
            .min()
            .map(str::to_owned);
        let done = page.delta_link.is_some();
        // ISO 8601 times in UTC, as Graph writes them, sort as text.
        let oldest = match (checkpoint.oldest.clone(), oldest_here) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let seen = checkpoint
            .seen
            .map(|n| n.saturating_add(u32::try_from(page.items.len()).unwrap_or(u32::MAX)));
        // A first round over: list what it may have left out, older than its oldest
        // message, unless it brought fewer than Graph's cap and so left out nothing.
        let capped = self.client.may_have_capped(seen);
        let backfill = match (&oldest, done && checkpoint.initial && capped) {
            (Some(oldest), true) => Some(self.client.listing_link(folder, since, oldest)?),
            _ => None,
        };
        let over = done && backfill.is_none();
        let next = Checkpoint {
            link: page
                .next_link
                .clone()
                .or_else(|| page.delta_link.clone())
                .unwrap_or_default(),
            caught_up: false,
            // A round that went through clears the count; a reset mid-round keeps it.
            resets: if done { 0 } else { checkpoint.resets },
            initial: checkpoint.initial && !done,
            oldest: if done { None } else { oldest },
            seen: if done { None } else { seen },
            backfill,
            since: checkpoint.since,
            resync: checkpoint.resync,
            confirm: false,
        };
        Ok(if over { next.round_over() } else { next })
    }

    /// Commits one page of a folder, fetched at `checkpoint`, with `next`, the checkpoint
    /// past it.
    #[allow(clippy::too_many_arguments)] // one folder's page and where it stands
    async fn apply_page(
        &self,
        account: &str,
        folder: &str,
        checkpoint: &Checkpoint,
        next: &Checkpoint,
        page: DeltaPage,
        records: &Mutex<Option<Vec<FolderRecord>>>,
        report: &mut Report,
    ) -> Result<(), SyncError> {
        let mut changes: Vec<MailChange> = Vec::with_capacity(page.items.len());
        for item in page.items {
            match item {
                DeltaItem::Message { id, json } => {
                    changes.push(change_for(json, folder));
                    // What a resync shows, noted with the page.
                    if checkpoint.resync {
                        changes.push(MailChange::Listed { id });
                    }
                }
                DeltaItem::Removed { id, deleted: true } => changes.push(MailChange::Remove {
                    id,
                    folder: Some(folder.to_owned()),
                }),
                DeltaItem::Removed { id, deleted: false } => changes.push(MailChange::Detach {
                    id,
                    folder: folder.to_owned(),
                }),
            }
        }
        // Short transactions, so that nothing else waits long for the database: every
        // chunk but the last keeps the link that fetched this page (after a crash the
        // page comes again, and merging by id makes the repeat harmless).
        let mut changes = changes.into_iter().peekable();
        loop {
            let chunk: Vec<MailChange> = changes.by_ref().take(COMMIT_CHUNK).collect();
            let last = changes.peek().is_none();
            let folders = records
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
                .unwrap_or_default();
            let covers = if last { next } else { checkpoint };
            self.session
                .commit(account, folder, covers, chunk, folders, report)
                .await?;
            if last {
                return Ok(());
            }
        }
    }

    /// One step of a resync's confirmation for `folder`: asks Graph about up to a batch
    /// of stored messages filed there that the resync did not show. One Graph no longer
    /// has goes (through the removal guard); one it still has is updated where it now
    /// is. When none is left, the resync is over and the folder caught up.
    async fn confirm(
        &self,
        account: &str,
        folder: &str,
        checkpoint: Checkpoint,
        records: &Mutex<Option<Vec<FolderRecord>>>,
        report: &mut Report,
    ) -> Result<Checkpoint, SyncError> {
        let since_ms = checkpoint.since.unwrap_or_default() * 1000;
        let pool = self.session.ctx.store.pool();
        let asked = mail::unlisted(
            pool,
            account,
            folder,
            Some(folder),
            since_ms,
            MAX_BATCH as u32,
        )
        .await?;
        let mut changes = Vec::with_capacity(asked.len() * 2);
        let next = if asked.is_empty() {
            changes.push(MailChange::ResyncDone);
            Checkpoint {
                caught_up: true,
                resync: false,
                confirm: false,
                ..checkpoint
            }
        } else {
            let answers = self
                .session
                .call_batch(account, report, asked.len() as u64, BATCH_PARALLEL, |t| {
                    let asked = asked.clone();
                    async move { self.client.messages_batch(&t, &asked).await }
                })
                .await?;
            for (id, answer) in asked.into_iter().zip(answers) {
                match answer? {
                    Some(json) => {
                        // Filed where Graph has it now (it may have moved meanwhile).
                        let home = json["parentFolderId"].as_str().unwrap_or(folder).to_owned();
                        changes.push(change_for(json, &home));
                    }
                    None => changes.push(MailChange::Remove {
                        id: id.clone(),
                        folder: None,
                    }),
                }
                // Noted as asked: kept copies are not asked about again.
                changes.push(MailChange::Listed { id });
            }
            checkpoint
        };
        let folders = records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_default();
        self.session
            .commit(account, folder, &next, changes, folders, report)
            .await?;
        Ok(next)
    }

    /// Asks the deltas of `folders` (caught up, so each `link` is a deltaLink) in
    /// batches, commits each answer that ends its round, and hands back the folders left
    /// to read one by one.
    async fn poll_batched<'f>(
        &self,
        account: &str,
        folders: Vec<&'f Folder>,
        since: DateTime<Utc>,
        report: &mut Report,
    ) -> Result<Vec<&'f Folder>, SyncError> {
        let pool = self.session.ctx.store.pool();
        let mut polled = Vec::new();
        let mut left = Vec::new();
        for folder in folders {
            let stored = mail::checkpoint(pool, account, &folder.id).await?;
            match stored.map(|json| serde_json::from_str::<Checkpoint>(&json)) {
                Some(Ok(checkpoint))
                    if checkpoint.polled() && !checkpoint.shallower_than(since) =>
                {
                    polled.push((folder, checkpoint))
                }
                _ => left.push(folder),
            }
        }
        let no_records = Mutex::new(None);
        for group in polled.chunks(MAX_BATCH) {
            if self.session.should_stop(account).await? {
                return Ok(Vec::new());
            }
            let links: Vec<String> = group.iter().map(|(_, c)| c.link.clone()).collect();
            let answers = self
                .session
                .call_batch(account, report, links.len() as u64, BATCH_PARALLEL, |t| {
                    let links = links.clone();
                    async move { self.client.delta_batch(&t, &links).await }
                })
                .await?;
            for ((folder, checkpoint), answer) in group.iter().zip(answers) {
                let Ok(page) = answer else {
                    // Throttled, reset or failed: asked again on its own, where each of
                    // those is handled.
                    left.push(folder);
                    continue;
                };
                let next = self.after_page(&folder.id, since, checkpoint, false, &page)?;
                self.apply_page(
                    account,
                    &folder.id,
                    checkpoint,
                    &next,
                    page,
                    &no_records,
                    report,
                )
                .await?;
                if !next.caught_up {
                    left.push(folder);
                }
            }
        }
        Ok(left)
    }
}

/// Outlook's well-known folders, as Graph names them in paths, and as Ferry shows them
/// (as system folders, like Gmail's system labels).
const WELL_KNOWN: &[(&str, &str)] = &[
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("junkemail", "Junk Email"),
    ("archive", "Archive"),
    ("outbox", "Outbox"),
];

/// Whether `folder` is the inbox (as named from its well-known name).
fn is_inbox(folder: &Folder) -> bool {
    folder.parent.is_none() && folder.name == "Inbox"
}

fn text(json: &Value, pointer: &str) -> String {
    json.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn recipients(json: &Value, key: &str, kind: &str) -> Vec<Recipient> {
    json[key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| Recipient {
            kind: kind.to_owned(),
            name: text(r, "/emailAddress/name"),
            address: text(r, "/emailAddress/address"),
        })
        .collect()
}

/// A delta item into a store change: a full item is written over what was there; an
/// update that carries only some properties changes just the read state and flag.
/// The attachments Graph described with the message (`$expand`), numbered in order;
/// their bytes are fetched when opened.
fn attachments(json: &Value) -> Vec<AttachmentRecord> {
    json["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, a)| AttachmentRecord {
            index,
            filename: text(a, "/name"),
            content_type: text(a, "/contentType"),
            size: a["size"]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
            inline: a["isInline"].as_bool().unwrap_or(false),
            content_id: a["contentId"].as_str().map(str::to_owned),
        })
        .collect()
}

/// What the store makes of one message a delta page of `folder` carries: the message in
/// full, or only its flags when Graph sent only those (public for the benchmarks, which
/// write the same pages the way a sync does).
pub fn change_for(json: Value, folder: &str) -> MailChange {
    let id = text(&json, "/id");
    let unread = json["isRead"].as_bool().map(|read| !read);
    let starred = json
        .pointer("/flag/flagStatus")
        .and_then(Value::as_str)
        .map(|s| s == "flagged");
    if json.get("subject").is_none() && json.get("body").is_none() {
        return MailChange::Flags {
            id,
            unread,
            starred,
            add_folders: Vec::new(),
            remove_folders: Vec::new(),
        };
    }
    let received_at = DateTime::parse_from_rfc3339(&text(&json, "/receivedDateTime"))
        .map(|d| d.timestamp_millis())
        .unwrap_or_default();
    let has_html = text(&json, "/body/contentType").eq_ignore_ascii_case("html");
    let body_text = match text(&json, "/body/content") {
        html if has_html => super::parse::html_text(&html),
        plain => plain,
    };
    // From the body as Ferry read it (the same for both providers); Graph's preview only
    // when the body is empty.
    let snippet = match super::parse::snippet(&body_text) {
        empty if empty.is_empty() => super::parse::snippet(&text(&json, "/bodyPreview")),
        snippet => snippet,
    };
    let mut recipients_all = recipients(&json, "toRecipients", "to");
    recipients_all.extend(recipients(&json, "ccRecipients", "cc"));
    let parent = json["parentFolderId"].as_str().unwrap_or(folder).to_owned();
    MailChange::Upsert(Box::new(NewMessage {
        thread_id: text(&json, "/conversationId"),
        message_id: json["internetMessageId"]
            .as_str()
            .map(|m| m.trim_matches(|c| c == '<' || c == '>').to_owned()),
        subject: text(&json, "/subject"),
        from_name: text(&json, "/from/emailAddress/name"),
        from_address: text(&json, "/from/emailAddress/address"),
        recipients: recipients_all,
        received_at,
        snippet,
        has_html,
        body_text,
        unread: unread.unwrap_or(false),
        starred: starred.unwrap_or(false),
        attachments: attachments(&json),
        problem: None,
        version: json["changeKey"].as_str().map(str::to_owned),
        folders: vec![parent],
        raw: serde_json::to_vec(&json).unwrap_or_default(),
        raw_format: RawFormat::GraphJson,
        id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_full_item_is_written_and_a_partial_update_only_changes_flags() {
        let full = json!({
            "id": "AAkAL1", "subject": "Hi", "isRead": false, "flag": {"flagStatus": "flagged"},
            "receivedDateTime": "2026-11-30T09:00:00Z", "conversationId": "c1",
            "internetMessageId": "<m1@x>", "parentFolderId": "inbox-id",
            "from": {"emailAddress": {"name": "Grace", "address": "grace@example.org"}},
            "toRecipients": [{"emailAddress": {"name": "Ada", "address": "ada@example.com"}}],
            "body": {"contentType": "text", "content": "Hello there"}, "bodyPreview": "Hello there",
            "changeKey": "CQ1"
        });
        let MailChange::Upsert(message) = change_for(full, "inbox-id") else {
            panic!("an upsert");
        };
        assert_eq!((message.unread, message.starred), (true, true));
        assert_eq!(message.message_id.as_deref(), Some("m1@x"));
        assert_eq!(message.folders, ["inbox-id"]);
        assert_eq!(message.received_at, 1_796_029_200_000);
        assert_eq!(message.raw_format, RawFormat::GraphJson);

        let partial = json!({"id": "AAkAL1", "isRead": true});
        assert_eq!(
            change_for(partial, "inbox-id"),
            MailChange::Flags {
                id: "AAkAL1".into(),
                unread: Some(false),
                starred: None,
                add_folders: vec![],
                remove_folders: vec![]
            }
        );
    }
}
