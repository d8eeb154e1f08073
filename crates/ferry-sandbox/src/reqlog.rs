//! A log of every request the sandbox served, so tests can count (for example) refresh
//! calls. Secrets are not kept: only method, path, the grant type and the status.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RequestRecord {
    pub seq: u64,
    pub at_unix: u64,
    /// `google`, `microsoft` or `control`.
    pub service: String,
    pub method: String,
    pub path: String,
    /// For token requests: the `grant_type` form field.
    pub grant_type: Option<String>,
    pub status: u16,
    /// One call inside a batch request (Gmail's `/batch/gmail/v1`, Graph's `$batch`).
    #[serde(default)]
    pub in_batch: bool,
}

impl RequestRecord {
    /// One call served inside a batch request (the log numbers it when pushed).
    pub fn batched(at_unix: u64, service: &str, method: &str, path: &str, status: u16) -> Self {
        Self {
            seq: 0,
            at_unix,
            service: service.to_owned(),
            method: method.to_owned(),
            path: path.split('?').next().unwrap_or_default().to_owned(),
            grant_type: None,
            status,
            in_batch: true,
        }
    }
}

#[derive(Debug, Default)]
pub struct RequestLog {
    entries: Mutex<Vec<RequestRecord>>,
}

impl RequestLog {
    pub fn push(&self, mut record: RequestRecord) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        record.seq = entries.len() as u64 + 1;
        entries.push(record);
    }

    pub fn all(&self) -> Vec<RequestRecord> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// How many served requests match `service`, a path suffix and (optionally) a grant.
    pub fn count(&self, service: &str, path_suffix: &str, grant_type: Option<&str>) -> usize {
        self.all()
            .iter()
            .filter(|r| {
                r.service == service
                    && r.path.ends_with(path_suffix)
                    && grant_type.is_none_or(|g| r.grant_type.as_deref() == Some(g))
            })
            .count()
    }
}
