//! Behaviour switches. Every number the reference marks as observed, unverified or
//! changed over time is a setting here, with the documented or observed value as default
//! (`shared/provider-reference.md` §5).

use serde::{Deserialize, Serialize};

use crate::quota::GmailProfile;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Follow the RFCs where Google and Microsoft are lenient, so Ferry can be tested
    /// against both: revocation must identify the client the token was issued to
    /// (RFC 7009 §2.1) and answers 200 for a dead token; both providers send `iss` on
    /// every authorization response and advertise it (RFC 9207); both rotate refresh
    /// tokens, and presenting a rotated one revokes the whole grant (RFC 9700 §4.14.2);
    /// id_tokens carry no e-mail or name, which only userinfo gives.
    pub strict: bool,
    /// Lifetime of authorization codes, both providers ("about 10 minutes").
    pub code_ttl_s: u64,
    /// Added before every provider response, to model a real round trip.
    pub latency_ms: u64,
    pub google: GoogleConfig,
    pub microsoft: MicrosoftConfig,
    pub quotas: QuotaConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GoogleConfig {
    /// `expires_in` of access tokens (real responses show 3599).
    pub access_token_ttl_s: u64,
    /// Send RFC 9207 `iss` on the authorization redirect (reported for 2026).
    pub send_iss: bool,
    /// Advertise `authorization_response_iss_parameter_supported` in discovery.
    pub advertise_iss_supported: bool,
    /// `iss` claim of id_tokens: the issuer URL, or the bare host form Google also uses.
    pub id_token_iss_bare_host: bool,
    /// Live refresh tokens per account and client; the next one evicts the oldest.
    pub refresh_tokens_per_client: usize,
    /// Refresh tokens unused this long die (six months).
    pub refresh_inactivity_days: u64,
    /// Refresh tokens of a client in "Testing" status die this long after consent.
    pub testing_refresh_ttl_days: u64,
    /// `error_description` for a dead refresh token.
    pub dead_token_description: String,
    /// Accept `code_challenge_method=plain` (Google does; Ferry must not need it).
    pub allow_plain_pkce: bool,
    /// Gmail keeps history this long; older `startHistoryId`s get 404 (about a week,
    /// sometimes only hours).
    pub gmail_history_retention_s: u64,
    /// `maxResults` above 500: clamp to 500, or answer 400 (not documented).
    pub gmail_clamp_max_results: bool,
    /// The status for `q`, `full` or `raw` under the `gmail.metadata` scope.
    pub gmail_metadata_refusal_status: u16,
    /// How long Gmail works on each call, holding one of the user's concurrent slots.
    pub gmail_service_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MicrosoftConfig {
    /// `expires_in` of access tokens is drawn from this range (60-90 minutes).
    pub access_token_ttl_min_s: u64,
    pub access_token_ttl_max_s: u64,
    /// A rotated refresh token stays usable (as documented); false models a strict server.
    pub old_refresh_token_stays_valid: bool,
    /// Refresh tokens unused this long die with AADSTS700082.
    pub refresh_inactivity_days: u64,
    /// The AADSTS code a revoked grant or password change gives on refresh.
    pub revocation_error_code: u32,
    /// The `error` value sent with AADSTS50076: `invalid_grant` or `interaction_required`.
    pub mfa_error_value: String,
    /// Graph's page size when the client sends no `Prefer: odata.maxpagesize`.
    pub graph_default_page_size: usize,
    /// The largest `odata.maxpagesize` honoured for messages (undocumented).
    pub graph_max_page_size_messages: usize,
    /// Share of delta pages that come back empty with a `nextLink`.
    pub graph_empty_page_rate: f64,
    /// Share of delta pages that repeat the previous page's last item.
    pub graph_replay_rate: f64,
    /// Delta tokens older than this are evicted (no fixed lifetime; 30 days here).
    pub graph_delta_token_max_age_s: u64,
    /// Status and `code` for an evicted delta token.
    pub graph_expired_token_status: u16,
    pub graph_expired_token_code: String,
    /// How long Graph works on each call, holding one of the mailbox's concurrent slots.
    pub graph_service_ms: u64,
    /// "Applying `$filter` in a delta query returns only up to 5,000 messages."
    pub graph_filtered_delta_cap: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaConfig {
    /// Apply the quotas at all (on in benchmarks and the demo; tests turn them on as needed).
    pub enabled: bool,
    /// Gmail's quota table: `2026` (6,000 units per user per minute, `messages.get` 20)
    /// or `2024` (15,000, `messages.get` 5).
    pub gmail_profile: GmailProfile,
    /// Overrides the profile's units per user per minute (benchmarks scale it).
    pub gmail_units_per_user_per_min: Option<u64>,
    /// Concurrent Gmail requests per user, across all clients (undocumented; ~10-25).
    pub gmail_max_concurrent_per_user: usize,
    /// Status of Gmail's over-quota answers: 429 or 403 (both are seen).
    pub gmail_quota_status: u16,
    /// Graph requests per app and mailbox per 10 minutes.
    pub graph_requests_per_10_min: u64,
    /// Graph concurrent requests per app and mailbox.
    pub graph_concurrent_per_mailbox: usize,
    /// `Retry-After` seconds on Graph throttling.
    pub graph_retry_after_s: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            strict: false,
            code_ttl_s: 600,
            latency_ms: 0,
            google: GoogleConfig::default(),
            microsoft: MicrosoftConfig::default(),
            quotas: QuotaConfig::default(),
        }
    }
}

impl Default for GoogleConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_s: 3599,
            send_iss: true,
            advertise_iss_supported: true,
            id_token_iss_bare_host: false,
            refresh_tokens_per_client: 100,
            refresh_inactivity_days: 183,
            testing_refresh_ttl_days: 7,
            dead_token_description: "Token has been expired or revoked.".into(),
            allow_plain_pkce: false,
            gmail_history_retention_s: 7 * 86_400,
            gmail_clamp_max_results: true,
            gmail_metadata_refusal_status: 403,
            gmail_service_ms: 20,
        }
    }
}

impl Default for MicrosoftConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_min_s: 3600,
            access_token_ttl_max_s: 5400,
            old_refresh_token_stays_valid: true,
            refresh_inactivity_days: 90,
            revocation_error_code: 50173,
            mfa_error_value: "invalid_grant".into(),
            graph_default_page_size: 10,
            graph_max_page_size_messages: 1000,
            graph_empty_page_rate: 0.05,
            graph_replay_rate: 0.02,
            graph_delta_token_max_age_s: 30 * 86_400,
            graph_expired_token_status: 410,
            graph_expired_token_code: "syncStateNotFound".into(),
            graph_service_ms: 20,
            graph_filtered_delta_cap: 5_000,
        }
    }
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            gmail_profile: GmailProfile::Y2026,
            gmail_units_per_user_per_min: None,
            gmail_max_concurrent_per_user: 10,
            gmail_quota_status: 429,
            graph_requests_per_10_min: 10_000,
            graph_concurrent_per_mailbox: 4,
            graph_retry_after_s: 2,
        }
    }
}

impl QuotaConfig {
    /// Gmail units per user per minute in force.
    pub fn gmail_units(&self) -> u64 {
        self.gmail_units_per_user_per_min
            .unwrap_or_else(|| self.gmail_profile.units_per_user_per_min())
    }
}
