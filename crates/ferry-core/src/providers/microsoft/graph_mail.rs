//! A typed Graph mail client for what sync needs: the folder tree and per-folder message
//! delta rounds (`shared/provider-reference.md` §2.4, §2.5). Every request asks for
//! immutable ids; delta rounds ask for their page size with `Prefer: odata.maxpagesize`
//! (never `$top`, which would cap the round) and follow the opaque links as given.

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::account::AccessToken;

/// Messages per delta page Ferry asks for on a round's first page: few, so the newest
/// mail is on screen at once.
pub const FIRST_PAGE_SIZE: u32 = 100;
/// Messages per delta page after that: Graph's largest honoured size for messages
/// (undocumented; 1,000 observed), so a round takes as few round trips as it can.
pub const PAGE_SIZE: u32 = 1000;
/// The most messages a delta round filtered by date brings ("Applying `$filter` in a delta
/// query returns only up to 5,000 messages"): what is older has to be listed.
pub const ROUND_CAP: u32 = 5000;
/// The properties a delta round brings (the body as text, for search and snippets).
pub const SELECT: &str = "subject,from,toRecipients,ccRecipients,receivedDateTime,isRead,flag,\
conversationId,internetMessageId,bodyPreview,body,hasAttachments,parentFolderId,changeKey";

/// Each message's attachments, described (their bytes are fetched when opened).
pub const EXPAND: &str = "attachments($select=id,name,contentType,size,isInline,contentId)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("Microsoft Graph did not accept the access token")]
    Unauthorized,
    /// The delta token is gone (410, `syncStateNotFound`, `resyncRequired`): start the
    /// folder's round again from `restart` (Graph's `Location`) or from scratch.
    #[error("Microsoft Graph no longer knows where Ferry's sync of this folder stood")]
    SyncReset { restart: Option<String> },
    #[error("Microsoft Graph has no such item")]
    NotFound,
    #[error("Microsoft Graph asked Ferry to slow down")]
    Throttled { retry_after: Option<Duration> },
    #[error("Microsoft Graph refused: {0}")]
    Refused(String),
    #[error("Microsoft Graph failed ({0})")]
    Server(u16),
    #[error("Microsoft Graph could not be reached: {0}")]
    Network(String),
    #[error("Microsoft Graph sent a reply Ferry could not read: {0}")]
    BadReply(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    /// Messages in the folder (`totalItemCount`), as the list said: the larger folders
    /// start first, since their rounds take longest.
    pub total: u64,
}

/// What one step of reading the folder tree found: folders, and what is left to read
/// (each folder's `childFolders`, and a list's next page), each with the parent it lists.
#[derive(Debug, Default)]
pub struct FolderLevel {
    pub folders: Vec<Folder>,
    pub next: Vec<(String, Option<String>)>,
}

impl FolderLevel {
    /// Takes in one page of a folder list whose folders are children of `parent`.
    fn read(
        &mut self,
        client: &GraphMailClient,
        page: Value,
        parent: Option<String>,
    ) -> Result<(), GraphError> {
        for folder in page["value"].as_array().into_iter().flatten() {
            let Some(id) = folder["id"].as_str() else {
                return Err(GraphError::BadReply("a folder without an id".into()));
            };
            if folder["childFolderCount"].as_u64().unwrap_or(0) > 0 {
                let children = client.link(
                    &format!("me/mailFolders/{id}/childFolders"),
                    &[("$top", "100")],
                )?;
                self.next.push((children, Some(id.to_owned())));
            }
            self.folders.push(Folder {
                id: id.to_owned(),
                name: folder["displayName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                parent: parent.clone(),
                total: folder["totalItemCount"].as_u64().unwrap_or(0),
            });
        }
        if let Some(next) = page["@odata.nextLink"].as_str() {
            self.next.push((next.to_owned(), parent));
        }
        Ok(())
    }
}

/// One entry of a delta page.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaItem {
    /// New or changed, with the selected properties; `json` is the item as Graph sent it.
    Message { id: String, json: Value },
    /// Gone from the folder: `deleted` for good, or moved elsewhere (or soft-deleted).
    Removed { id: String, deleted: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeltaPage {
    pub items: Vec<DeltaItem>,
    /// More of this round: follow it.
    pub next_link: Option<String>,
    /// The round is over: keep it for the next round.
    pub delta_link: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    error: WireErrorBody,
}

#[derive(Deserialize)]
struct WireErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn error_for(
    status: StatusCode,
    body: &[u8],
    retry_after: Option<Duration>,
    location: Option<String>,
) -> GraphError {
    let error = serde_json::from_slice::<WireError>(body)
        .ok()
        .map(|e| e.error);
    let code = error.as_ref().map(|e| e.code.as_str()).unwrap_or_default();
    match (status.as_u16(), code) {
        (401, _) => GraphError::Unauthorized,
        (410, _) | (_, "syncStateNotFound" | "resyncRequired" | "syncStateInvalid") => {
            GraphError::SyncReset { restart: location }
        }
        (404, _) => GraphError::NotFound,
        (429 | 503 | 504, _) => GraphError::Throttled { retry_after },
        (400..=499, _) => GraphError::Refused(
            error
                .map(|e| format!("{}: {}", e.code, e.message))
                .unwrap_or_else(|| format!("HTTP {status}")),
        ),
        (other, _) => GraphError::Server(other),
    }
}

/// Outlook runs at most this many of a `$batch`'s requests side by side, each one of the
/// mailbox's concurrent requests.
pub const BATCH_PARALLEL: usize = 4;
/// Graph's `$batch` takes at most this many requests.
pub const MAX_BATCH: usize = 20;

/// A page of messages from its JSON: the items, and its links as sent.
fn page_of(page: &Value) -> Result<DeltaPage, GraphError> {
    let mut items = Vec::new();
    for item in page["value"].as_array().into_iter().flatten() {
        let Some(id) = item["id"].as_str() else {
            return Err(GraphError::BadReply("an item without an id".into()));
        };
        items.push(if let Some(removed) = item.get("@removed") {
            DeltaItem::Removed {
                id: id.to_owned(),
                deleted: removed["reason"].as_str() == Some("deleted"),
            }
        } else {
            DeltaItem::Message {
                id: id.to_owned(),
                json: item.clone(),
            }
        });
    }
    let next_link = page["@odata.nextLink"].as_str().map(str::to_owned);
    let delta_link = page["@odata.deltaLink"].as_str().map(str::to_owned);
    Ok(DeltaPage {
        items,
        next_link,
        delta_link,
    })
}

/// The `Retry-After` a throttled answer names, in seconds.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_secs)
}

/// Sends a request; a failure status becomes the error Graph means by it.
async fn send(request: reqwest::RequestBuilder) -> Result<Vec<u8>, GraphError> {
    let response = request
        .send()
        .await
        .map_err(|e| GraphError::Network(e.without_url().to_string()))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| GraphError::Network(e.without_url().to_string()))?;
    if !status.is_success() {
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Err(error_for(status, &body, retry_after(&headers), location));
    }
    Ok(body.to_vec())
}

/// A delta page goes on (`nextLink`) or ends its round (`deltaLink`): never both, never
/// neither.
fn one_link(page: DeltaPage) -> Result<DeltaPage, GraphError> {
    if page.next_link.is_some() == page.delta_link.is_some() {
        return Err(GraphError::BadReply(
            "a delta page needs exactly one of nextLink and deltaLink".into(),
        ));
    }
    Ok(page)
}

#[derive(Debug, Clone)]
pub struct GraphMailClient {
    http: reqwest::Client,
    /// `https://graph.microsoft.com/v1.0/` (or the sandbox's).
    base: Url,
    /// The most messages a delta round filtered by date brings.
    round_cap: u32,
}

impl GraphMailClient {
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self {
            http,
            base,
            round_cap: ROUND_CAP,
        }
    }

    /// The client, for a service whose filtered delta rounds stop at `cap` messages.
    pub fn round_cap(self, cap: u32) -> Self {
        Self {
            round_cap: cap,
            ..self
        }
    }

    /// Whether a first round that brought `seen` items may have stopped at the cap,
    /// leaving older messages of the window out (`None`: not counted, so it may).
    pub fn may_have_capped(&self, seen: Option<u32>) -> bool {
        seen.is_none_or(|n| n >= self.round_cap)
    }

    /// Opaque links name Graph's host; they are used as given, except that a link must
    /// stay on the configured origin (a reply cannot send Ferry's token elsewhere).
    fn checked(&self, link: &str) -> Result<Url, GraphError> {
        let url = Url::parse(link)
            .map_err(|e| GraphError::BadReply(format!("a link Ferry cannot read: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(GraphError::BadReply("a link to another server".into()));
        }
        Ok(url)
    }

    async fn get(
        &self,
        token: &AccessToken,
        url: Url,
        page_size: Option<u32>,
    ) -> Result<Value, GraphError> {
        let body = self.get_bytes(token, url, page_size).await?;
        serde_json::from_slice(&body).map_err(|e| GraphError::BadReply(e.to_string()))
    }

    /// `me/messages/{id}/...`, each segment escaped.
    fn message_url(&self, id: &str, rest: &[&str]) -> Result<Url, GraphError> {
        let mut url = self
            .base
            .join("me/messages/")
            .map_err(|e| GraphError::BadReply(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| GraphError::BadReply("Graph's address cannot take a path".into()))?
            .pop_if_empty()
            .push(id)
            .extend(rest);
        Ok(url)
    }

    /// An attachment's bytes (`contentBytes` of a file attachment), fetched when the user
    /// opens or saves it.
    pub async fn attachment(
        &self,
        token: &AccessToken,
        message: &str,
        attachment: &str,
    ) -> Result<Vec<u8>, GraphError> {
        let url = self.message_url(message, &["attachments", attachment])?;
        let json = self.get(token, url, None).await?;
        let Some(content) = json["contentBytes"].as_str() else {
            return Err(GraphError::BadReply(
                "an attachment without contentBytes (not a file)".into(),
            ));
        };
        base64::engine::general_purpose::STANDARD
            .decode(content)
            .map_err(|e| GraphError::BadReply(format!("an attachment's contentBytes: {e}")))
    }

    /// A message's MIME source (`$value`), as Outlook keeps it: for export.
    pub async fn mime(&self, token: &AccessToken, id: &str) -> Result<Vec<u8>, GraphError> {
        let url = self.message_url(id, &["$value"])?;
        self.get_bytes(token, url, None).await
    }

    async fn get_bytes(
        &self,
        token: &AccessToken,
        url: Url,
        page_size: Option<u32>,
    ) -> Result<Vec<u8>, GraphError> {
        let mut request = self
            .http
            .get(url)
            .bearer_auth(token.expose_secret())
            .header("Prefer", "IdType=\"ImmutableId\"");
        if let Some(size) = page_size {
            request = request.header("Prefer", format!("odata.maxpagesize={size}"));
        }
        send(request).await
    }

    /// The first step of reading the folder tree, in one `$batch` request: the folders
    /// under the mailbox's root, and the ids of Outlook's well-known folders `names`
    /// (`inbox`, `sentitems`, …), in the order given, `None` for one the mailbox does not
    /// have. Display names are in the mailbox's language; these names are not.
    pub async fn folder_roots(
        &self,
        token: &AccessToken,
        names: &[&str],
    ) -> Result<(FolderLevel, Vec<Option<String>>), GraphError> {
        let mut links = vec![self.link("me/mailFolders", &[("$top", "100")])?];
        for name in names {
            links.push(self.link(&format!("me/mailFolders/{name}"), &[("$select", "id")])?);
        }
        let mut answers = self.batch_found(token, &links).await?.into_iter();
        let roots = match answers.next() {
            Some(Ok(Some(page))) => page,
            Some(Err(err)) => return Err(err),
            _ => return Err(GraphError::BadReply("no folder list in the batch".into())),
        };
        let known = answers
            .map(|found| found.map(|body| body.and_then(|b| b["id"].as_str().map(str::to_owned))))
            .collect::<Result<_, _>>()?;
        let mut level = FolderLevel::default();
        level.read(self, roots, None)?;
        Ok((level, known))
    }

    /// The next step down the folder tree: the links a [`FolderLevel`] left to read (at
    /// most [`MAX_BATCH`]), in one `$batch` request.
    pub async fn folder_level(
        &self,
        token: &AccessToken,
        links: &[(String, Option<String>)],
    ) -> Result<FolderLevel, GraphError> {
        let asked: Vec<String> = links.iter().map(|(link, _)| link.clone()).collect();
        let mut level = FolderLevel::default();
        for ((_, parent), answer) in links
            .iter()
            .zip(self.batch(token, &asked, "IdType=\"ImmutableId\"").await?)
        {
            level.read(self, answer?, parent.clone())?;
        }
        Ok(level)
    }

    /// Messages of `folder` received from `since` up to (not including) `before`, newest
    /// first: the mail a filtered delta round left out (Graph returns at most 5,000 for
    /// one). Its pages read like a delta round's, with a `nextLink` until the last.
    pub fn listing_link(
        &self,
        folder: &str,
        since: chrono::DateTime<chrono::Utc>,
        before: &str,
    ) -> Result<String, GraphError> {
        let filter = format!(
            "receivedDateTime ge {} and receivedDateTime lt {before}",
            since.format("%Y-%m-%dT%H:%M:%SZ")
        );
        self.link(
            &format!("me/mailFolders/{folder}/messages"),
            &[
                ("$select", SELECT),
                ("$filter", &filter),
                ("$orderby", "receivedDateTime desc"),
                ("$expand", EXPAND),
                ("$top", &PAGE_SIZE.to_string()),
            ],
        )
    }

    /// The first request of a folder's delta round: messages received since `since`,
    /// newest first (so the first page holds the newest mail).
    pub fn initial_link(
        &self,
        folder: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, GraphError> {
        let filter = format!("receivedDateTime ge {}", since.format("%Y-%m-%dT%H:%M:%SZ"));
        self.link(
            &format!("me/mailFolders/{folder}/messages/delta"),
            &[
                ("$select", SELECT),
                ("$filter", &filter),
                ("$orderby", "receivedDateTime desc"),
                ("$expand", EXPAND),
            ],
        )
    }

    /// A link to `path` (within this Graph version) with the query `pairs`.
    fn link(&self, path: &str, pairs: &[(&str, &str)]) -> Result<String, GraphError> {
        let mut url = self
            .base
            .join(path)
            .map_err(|e| GraphError::BadReply(e.to_string()))?;
        url.query_pairs_mut().extend_pairs(pairs);
        Ok(url.to_string())
    }

    /// Several delta links asked in one `$batch` request (Graph takes at most
    /// [`MAX_BATCH`]): each link's page, or why it failed, in the order given. The batch
    /// itself failing is the outer error.
    pub async fn delta_batch(
        &self,
        token: &AccessToken,
        links: &[String],
    ) -> Result<Vec<Result<DeltaPage, GraphError>>, GraphError> {
        let size = format!("IdType=\"ImmutableId\", odata.maxpagesize={PAGE_SIZE}");
        Ok(self
            .batch(token, links, &size)
            .await?
            .into_iter()
            .map(|answer| answer.and_then(|body| page_of(&body)).and_then(one_link))
            .collect())
    }

    /// Messages asked by id in one `$batch` request (at most [`MAX_BATCH`]), each as
    /// [`SELECT`] and [`EXPAND`] describe it, or `None` where Graph answers that it has
    /// no such message; in the order given.
    pub async fn messages_batch(
        &self,
        token: &AccessToken,
        ids: &[String],
    ) -> Result<Vec<Result<Option<Value>, GraphError>>, GraphError> {
        let links = ids
            .iter()
            .map(|id| {
                let path = format!("me/messages/{id}");
                self.link(&path, &[("$select", SELECT), ("$expand", EXPAND)])
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_found(token, &links).await
    }

    /// Items asked by link in one `$batch` request: each one's body, `None` where Graph
    /// answers that there is no such item, or why it failed; in the order given.
    async fn batch_found(
        &self,
        token: &AccessToken,
        links: &[String],
    ) -> Result<Vec<Result<Option<Value>, GraphError>>, GraphError> {
        Ok(self
            .batch(token, links, "IdType=\"ImmutableId\"")
            .await?
            .into_iter()
            .map(|answer| match answer {
                Ok(body) => Ok(Some(body)),
                Err(GraphError::NotFound) => Ok(None),
                Err(other) => Err(other),
            })
            .collect())
    }

    /// GETs of `links` (within this Graph version) in one `$batch` request, each with
    /// the `Prefer` header `prefer`: each answer's body, or why it failed, in the order
    /// given. The batch itself failing is the outer error.
    async fn batch(
        &self,
        token: &AccessToken,
        links: &[String],
        prefer: &str,
    ) -> Result<Vec<Result<Value, GraphError>>, GraphError> {
        let mut requests = Vec::with_capacity(links.len());
        for (n, link) in links.iter().enumerate() {
            let url = self.checked(link)?;
            // Inside a batch, a request's URL is relative to the version (`/me/...`).
            let relative = url
                .as_str()
                .strip_prefix(self.base.as_str())
                .ok_or_else(|| GraphError::BadReply("a link outside the Graph version".into()))?;
            requests.push(serde_json::json!({
                "id": n.to_string(),
                "method": "GET",
                "url": format!("/{relative}"),
                "headers": {"Prefer": prefer},
            }));
        }
        let url = self
            .base
            .join("$batch")
            .map_err(|e| GraphError::BadReply(e.to_string()))?;
        let request = self
            .http
            .post(url)
            .bearer_auth(token.expose_secret())
            .json(&serde_json::json!({ "requests": requests }));
        let body = send(request).await?;
        let mut reply: Value = serde_json::from_slice(&body)
            .map_err(|e| GraphError::BadReply(format!("a batch reply: {e}")))?;
        let mut answers: Vec<Result<Value, GraphError>> = (0..links.len())
            .map(|_| {
                Err(GraphError::BadReply(
                    "the batch left a request unanswered".into(),
                ))
            })
            .collect();
        let responses = match reply["responses"].take() {
            Value::Array(responses) => responses,
            _ => Vec::new(),
        };
        for mut answer in responses {
            let Some(slot) = answer["id"]
                .as_str()
                .and_then(|id| id.parse::<usize>().ok())
                .and_then(|n| answers.get_mut(n))
            else {
                continue;
            };
            let status = answer["status"].as_u64().unwrap_or(0);
            *slot = if (200..300).contains(&status) {
                Ok(answer["body"].take())
            } else {
                let status = StatusCode::from_u16(u16::try_from(status).unwrap_or(500))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let retry_after = answer["headers"]["Retry-After"]
                    .as_str()
                    .or_else(|| answer["headers"]["retry-after"].as_str())
                    .and_then(|v| v.trim().parse().ok())
                    .map(Duration::from_secs);
                let location = answer["headers"]["Location"]
                    .as_str()
                    .or_else(|| answer["headers"]["location"].as_str())
                    .map(str::to_owned);
                let body = serde_json::to_vec(&answer["body"]).unwrap_or_default();
                Err(error_for(status, &body, retry_after, location))
            };
        }
        Ok(answers)
    }

    /// A page of messages (a delta round's or a listing's), its links as sent.
    async fn page(
        &self,
        token: &AccessToken,
        link: &str,
        page_size: u32,
    ) -> Result<DeltaPage, GraphError> {
        let page = self
            .get(token, self.checked(link)?, Some(page_size))
            .await?;
        page_of(&page)
    }

    /// One page of a delta round, from `link` (the initial link, a nextLink or a
    /// deltaLink), of up to `page_size` messages.
    pub async fn delta(
        &self,
        token: &AccessToken,
        link: &str,
        page_size: u32,
    ) -> Result<DeltaPage, GraphError> {
        one_link(self.page(token, link, page_size).await?)
    }

    /// One page of a message listing (see [`Self::listing_link`]): a `nextLink` until
    /// the last page, never a `deltaLink`.
    pub async fn listing(&self, token: &AccessToken, link: &str) -> Result<DeltaPage, GraphError> {
        let page = self.page(token, link, PAGE_SIZE).await?;
        if page.delta_link.is_some() {
            return Err(GraphError::BadReply(
                "a message listing sent a deltaLink".into(),
            ));
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_graph_means_them() {
        let gone = br#"{"error":{"code":"syncStateNotFound","message":"gone"}}"#;
        assert_eq!(
            error_for(
                StatusCode::GONE,
                gone,
                None,
                Some("https://graph.microsoft.com/v1.0/x".into())
            ),
            GraphError::SyncReset {
                restart: Some("https://graph.microsoft.com/v1.0/x".into())
            }
        );
        let evicted = br#"{"error":{"code":"syncStateNotFound","message":"gone"}}"#;
        assert!(matches!(
            error_for(StatusCode::BAD_REQUEST, evicted, None, None),
            GraphError::SyncReset { .. }
        ));
        let throttled = br#"{"error":{"code":"ApplicationThrottled","message":"x"}}"#;
        assert_eq!(
            error_for(
                StatusCode::TOO_MANY_REQUESTS,
                throttled,
                Some(Duration::from_secs(2)),
                None
            ),
            GraphError::Throttled {
                retry_after: Some(Duration::from_secs(2))
            }
        );
        assert_eq!(
            error_for(StatusCode::UNAUTHORIZED, b"", None, None),
            GraphError::Unauthorized
        );
        assert_eq!(
            error_for(StatusCode::BAD_GATEWAY, b"<html>", None, None),
            GraphError::Server(502)
        );
    }

    #[test]
    fn links_must_stay_on_graphs_origin() {
        let client = GraphMailClient::new(
            reqwest::Client::new(),
            Url::parse("https://graph.microsoft.com/v1.0/").unwrap_or_else(|_| unreachable!()),
        );
        assert!(client
            .checked("https://graph.microsoft.com/v1.0/me/x?$skiptoken=a")
            .is_ok());
        assert!(client.checked("https://evil.example/v1.0/me").is_err());
        assert!(client.checked("not a url").is_err());
        let link = client
            .initial_link(
                "inbox",
                chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            )
            .unwrap_or_default();
        assert!(
            link.contains("messages/delta")
                && link.contains("%24filter")
                && !link.contains("%24top")
        );
    }
}
