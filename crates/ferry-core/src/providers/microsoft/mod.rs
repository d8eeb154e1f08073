//! Microsoft: the scopes Ferry asks for, what a grant covers, how its token endpoint's
//! errors read (by AADSTS code, not by `error`), which issuers it uses, and who the user
//! is (`oid` within `tid`). It has no revocation endpoint for this kind of client. The
//! Graph mail client is in [`graph_mail`].

pub mod graph_mail;

use super::config::MicrosoftSettings;
use super::failure::{Cause, ErrorBody, FailureKind, RefreshFailure};
use crate::services::{CalendarAccess, ServiceChoice, ServiceGrants};

/// The tenant of personal Microsoft accounts.
pub const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Graph's resource prefix, which granted scopes carry.
const GRAPH: &str = "https://graph.microsoft.com/";

/// The minimal scopes for `choice`, after the sign-in scopes (`offline_access`, without
/// which there is no refresh token).
pub fn scopes(choice: &ServiceChoice) -> Vec<String> {
    let mut scopes: Vec<String> = ["openid", "email", "profile", "offline_access"]
        .map(String::from)
        .to_vec();
    if choice.mail {
        scopes.push("Mail.Read".into());
    }
    match choice.calendar {
        Some(CalendarAccess::Read) => scopes.push("Calendars.Read".into()),
        Some(CalendarAccess::ReadWrite) => scopes.push("Calendars.ReadWrite".into()),
        None => {}
    }
    if choice.contacts {
        scopes.push("Contacts.Read".into());
    }
    scopes
}

/// Which services a grant covers; Graph permissions may come with their resource prefix.
pub fn granted(granted_scopes: &[String]) -> ServiceGrants {
    let has = |wanted: &str| {
        granted_scopes
            .iter()
            .any(|s| s.strip_prefix(GRAPH).unwrap_or(s) == wanted)
    };
    ServiceGrants {
        mail: has("Mail.Read") || has("Mail.ReadWrite"),
        calendar: if has("Calendars.ReadWrite") {
            Some(CalendarAccess::ReadWrite)
        } else if has("Calendars.Read") {
            Some(CalendarAccess::Read)
        } else {
            None
        },
        contacts: has("Contacts.Read") || has("Contacts.ReadWrite"),
    }
}

/// AADSTS codes that only an interactive sign-in fixes, and what they mean.
fn aadsts_needs_sign_in(code: u64) -> Option<Cause> {
    use Cause::*;
    Some(match code {
        50173 | 70008 | 70000 => Revoked,
        700082 | 700084 | 50089 => Expired,
        70043 | 53003 | 53000 | 53001 => ConditionalAccess,
        50076 | 50079 | 50078 | 50074 | 50158 => MoreVerificationNeeded,
        65001 | 65004 => ConsentNeeded,
        90094 | 90095 => AdminApprovalRequired,
        50055 | 50144 | 50132 | 50133 => PasswordChanged,
        50057 | 50053 => AccountDisabled,
        16000 | 50020 | 50034 => NotInTenant,
        _ => return None,
    })
}

const AADSTS_TRANSIENT: &[u64] = &[50033, 50087, 90006, 90024, 90033, 90090, 70012, 90055];
const AADSTS_CONFIGURATION: &[u64] = &[
    700016, 50011, 70011, 700022, 700025, 9001023, 50194, 9002332, 50196, 7000218,
];

pub fn classify(body: &ErrorBody) -> RefreshFailure {
    use Cause::*;
    use FailureKind::*;
    // Branch on error_codes and suberror, not on `error`: the same code arrives as
    // invalid_grant or interaction_required.
    if let Some(&code) = body.error_codes.first() {
        let name = format!("AADSTS{code}");
        if let Some(cause) = aadsts_needs_sign_in(code) {
            return RefreshFailure::new(NeedsSignIn, cause, name);
        }
        if AADSTS_TRANSIENT.contains(&code) {
            let cause = if code == 90055 || code == 90024 {
                Throttled
            } else {
                ProviderUnavailable
            };
            return RefreshFailure::new(Transient, cause, name);
        }
        if AADSTS_CONFIGURATION.contains(&code) {
            return RefreshFailure::new(Configuration, BadConfiguration, name);
        }
    }
    let code = body.error.clone();
    match body.error.as_str() {
        "invalid_grant" | "interaction_required" | "consent_required" | "login_required" => {
            let cause = match body.suberror.as_str() {
                "consent_required" => ConsentNeeded,
                "user_password_expired" => PasswordChanged,
                "basic_action" | "additional_action" => MoreVerificationNeeded,
                _ => Revoked,
            };
            RefreshFailure::new(NeedsSignIn, cause, code)
        }
        "temporarily_unavailable" | "server_error" => {
            RefreshFailure::new(Transient, ProviderUnavailable, code)
        }
        "invalid_client"
        | "unauthorized_client"
        | "invalid_request"
        | "invalid_scope"
        | "unsupported_grant_type" => RefreshFailure::new(Configuration, BadConfiguration, code),
        _ => RefreshFailure::new(Transient, Unknown, code),
    }
}

/// Whether `iss` can be this configuration's issuer: exactly `{authority}/{tenant}/v2.0`
/// for one tenant id, and that tenant when Ferry is set to one (RFC 9207 compares whole
/// strings; a prefix would let `…microsoftonline.com.attacker.example` through). With
/// `common` or `organizations` the tenant is only known from the id_token, whose `iss`
/// the sign-in then requires to be the same string.
pub fn could_issue(settings: &MicrosoftSettings, iss: &str) -> bool {
    let authority = settings.authority.as_str().trim_end_matches('/');
    let Some(tenant) = iss
        .strip_prefix(authority)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_suffix("/v2.0"))
    else {
        return false;
    };
    let plausible = !tenant.is_empty()
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    let fits = match settings.tenant.as_str() {
        "common" | "organizations" => true,
        "consumers" => tenant == MSA_TENANT,
        // A tenant given by domain name is only known by id in the id_token.
        id if id.contains('.') => true,
        id => id.eq_ignore_ascii_case(tenant),
    };
    plausible && fits
}

/// The `iss` id_tokens of the tenant `tid` carry.
pub fn issuer_for(settings: &MicrosoftSettings, tid: &str) -> String {
    format!(
        "{}/{tid}/v2.0",
        settings.authority.as_str().trim_end_matches('/')
    )
}

/// Who signed in: the object id, stable across apps (needs `profile`), else the pairwise
/// subject.
pub fn subject(sub: &str, oid: Option<&str>) -> String {
    oid.unwrap_or(sub).to_owned()
}
