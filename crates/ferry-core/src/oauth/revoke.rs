//! Withdrawing Ferry's access when an account is removed: RFC 7009 at Google; Microsoft
//! has no endpoint for this kind of client.

use secrecy::{ExposeSecret, SecretString};

use crate::provider::Provider;
use crate::providers::ProviderSettings;

/// What became of asking the provider to revoke a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    /// Microsoft has no revocation endpoint for this kind of client; the user removes
    /// Ferry's access on their account page.
    NotSupported,
    /// The provider was unreachable or refused; the text says why (no secret in it).
    Failed(String),
}

/// Revokes a refresh token at the provider (RFC 7009 at Google), identifying Ferry as the
/// client the token was issued to (§2.1) and saying what kind of token it is.
pub async fn revoke(
    http: &reqwest::Client,
    settings: &ProviderSettings,
    provider: Provider,
    token: &SecretString,
) -> Revocation {
    let Some((revoke_url, oauth)) = settings
        .client(provider)
        .and_then(|c| Some((c.revoke_url.clone()?, c)))
    else {
        return Revocation::NotSupported;
    };
    let mut form = vec![
        ("token", token.expose_secret()),
        ("token_type_hint", "refresh_token"),
        ("client_id", oauth.client_id.as_str()),
    ];
    if let Some(secret) = &oauth.client_secret {
        form.push(("client_secret", secret.as_str()));
    }
    let sent = http.post(revoke_url).form(&form).send().await;
    match sent {
        Ok(response) if response.status().is_success() => Revocation::Revoked,
        Ok(response) => {
            let status = response.status();
            // Google answers 400 invalid_token for a token that is already dead.
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            match body.get("error").and_then(|e| e.as_str()) {
                Some("invalid_token") => Revocation::Revoked,
                Some(error) => Revocation::Failed(format!("{status}, {error}")),
                None => Revocation::Failed(status.to_string()),
            }
        }
        Err(err) if err.is_timeout() || err.is_connect() => {
            Revocation::Failed(format!("{provider} could not be reached"))
        }
        Err(_) => Revocation::Failed("the request failed".into()),
    }
}
