//! Plain-language help for what went wrong with a connection: what happened and the fix,
//! never the code (the code goes to the timeline for whoever needs it).

use serde::Serialize;

use crate::providers::failure::Cause;
use crate::providers::Provider;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
pub struct Help {
    /// What happened, in a few words.
    pub summary: String,
    /// What to do about it.
    pub fix: String,
}

fn help(summary: impl Into<String>, fix: impl Into<String>) -> Help {
    Help {
        summary: summary.into(),
        fix: fix.into(),
    }
}

/// Help for `cause` at `provider`.
pub fn for_cause(provider: Provider, cause: Cause) -> Help {
    use Cause::*;
    let account_page = match provider {
        Provider::Google => "myaccount.google.com",
        Provider::Microsoft => {
            "account.microsoft.com (or myaccount.microsoft.com for work accounts)"
        }
    };
    match cause {
        Revoked => help(
            format!("Ferry's access to this {provider} account was removed"),
            format!(
                "This happens when access is withdrawn on {account_page} or by an administrator. \
                 Choose Reconnect and sign in to allow it again."
            ),
        ),
        Expired => help(
            format!("The {provider} sign-in expired"),
            "Sign-ins end after a long time unused, or when a time-limited grant runs out. \
             Choose Reconnect and sign in again."
                .to_owned(),
        ),
        PasswordChanged => help(
            "Your password changed",
            format!(
                "{provider} ends app sign-ins when the password changes. Choose Reconnect and \
                 sign in with the new password."
            ),
        ),
        ConsentNeeded => help(
            "Ferry needs your permission again",
            "Choose Reconnect and approve access on the sign-in page.",
        ),
        AdminApprovalRequired => help(
            "Your organisation's administrator must approve Ferry",
            "Ask your IT administrator to approve Ferry for your organisation, then choose \
             Reconnect. You cannot do this on your own.",
        ),
        AppInTesting => help(
            "Ferry's Google project is in Testing mode",
            "Google ends sign-ins of apps in Testing mode after 7 days. Choose Reconnect, or \
             publish the app in the Google Cloud console (Audience → Publish app) to stop this.",
        ),
        ConditionalAccess => help(
            "Your organisation's sign-in rules require you to sign in again",
            "A Conditional Access policy (for example, how often you must sign in, or from \
             which devices) applies. Choose Reconnect; if it keeps happening, ask your IT \
             administrator.",
        ),
        MoreVerificationNeeded => help(
            "Extra verification is needed",
            "Choose Reconnect and complete the verification step (such as multi-factor \
             authentication) in the browser.",
        ),
        AccountDisabled => help(
            format!("The {provider} account is disabled or locked"),
            "Unlock the account, or ask its administrator, then choose Reconnect.",
        ),
        NotInTenant => help(
            "The account is not part of the expected organisation",
            "Choose Reconnect and sign in with the right account.",
        ),
        Offline => help(
            format!("Ferry cannot reach {provider}"),
            "Check the internet connection. Ferry keeps trying on its own.",
        ),
        ProviderUnavailable => help(
            format!("{provider} is not answering properly"),
            "This is usually brief. Ferry keeps trying on its own.",
        ),
        Throttled => help(
            format!("{provider} asked Ferry to slow down"),
            "Ferry waits as asked and tries again on its own.",
        ),
        BadConfiguration => help(
            format!("Ferry's registration with {provider} is not right"),
            "Check the client ID in providers.toml (see the README's steps for registering a \
             client). Signing in again will not fix this.",
        ),
        Unknown => help(
            format!("{provider} refused to renew access"),
            "Ferry keeps trying. If this continues, choose Reconnect.",
        ),
    }
}
