//! Services a user picks (mail, calendar, contacts) and the OAuth scopes they need: the
//! minimal set, plus sign-in scopes (`openid email profile`, and `offline_access` at
//! Microsoft, without which there is no refresh token).

use serde::{Deserialize, Serialize};

use crate::provider::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum CalendarAccess {
    Read,
    ReadWrite,
}

/// What the user asked for in the Add account dialog.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServiceChoice {
    pub mail: bool,
    pub calendar: Option<CalendarAccess>,
    pub contacts: bool,
}

impl ServiceChoice {
    pub fn is_empty(&self) -> bool {
        !self.mail && self.calendar.is_none() && !self.contacts
    }
}

/// What the provider actually granted, per service.
pub type ServiceGrants = ServiceChoice;

const G: &str = "https://www.googleapis.com/auth/";
const GRAPH: &str = "https://graph.microsoft.com/";

fn google_scope(name: &str) -> String {
    format!("{G}{name}")
}

/// The scopes to request for `choice` at `provider`.
pub fn scopes(provider: Provider, choice: &ServiceChoice) -> Vec<String> {
    let mut scopes: Vec<String> = ["openid", "email", "profile"].map(String::from).to_vec();
    match provider {
        Provider::Google => {
            if choice.mail {
                scopes.push(google_scope("gmail.readonly"));
            }
            match choice.calendar {
                Some(CalendarAccess::Read) => scopes.push(google_scope("calendar.readonly")),
                Some(CalendarAccess::ReadWrite) => scopes.push(google_scope("calendar.events")),
                None => {}
            }
            if choice.contacts {
                scopes.push(google_scope("contacts.readonly"));
            }
        }
        Provider::Microsoft => {
            scopes.push("offline_access".into());
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
        }
    }
    scopes
}

/// Which services a grant covers, from the `scope` the token endpoint returned.
pub fn granted(provider: Provider, granted_scopes: &[String]) -> ServiceGrants {
    let has = |wanted: &str| {
        granted_scopes.iter().any(|s| {
            let s = s.strip_prefix(GRAPH).unwrap_or(s);
            s == wanted
        })
    };
    match provider {
        Provider::Google => ServiceGrants {
            mail: has(&google_scope("gmail.readonly")) || has("https://mail.google.com/"),
            calendar: if has(&google_scope("calendar.events")) || has(&google_scope("calendar")) {
                Some(CalendarAccess::ReadWrite)
            } else if has(&google_scope("calendar.readonly")) {
                Some(CalendarAccess::Read)
            } else {
                None
            },
            contacts: has(&google_scope("contacts.readonly")) || has(&google_scope("contacts")),
        },
        Provider::Microsoft => ServiceGrants {
            mail: has("Mail.Read") || has("Mail.ReadWrite"),
            calendar: if has("Calendars.ReadWrite") {
                Some(CalendarAccess::ReadWrite)
            } else if has("Calendars.Read") {
                Some(CalendarAccess::Read)
            } else {
                None
            },
            contacts: has("Contacts.Read") || has("Contacts.ReadWrite"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: ServiceChoice = ServiceChoice {
        mail: true,
        calendar: Some(CalendarAccess::Read),
        contacts: true,
    };

    #[test]
    fn the_minimal_scopes_plus_sign_in() {
        let google = scopes(
            Provider::Google,
            &ServiceChoice {
                mail: true,
                ..Default::default()
            },
        );
        assert_eq!(
            google,
            [
                "openid",
                "email",
                "profile",
                "https://www.googleapis.com/auth/gmail.readonly"
            ]
        );
        let ms = scopes(
            Provider::Microsoft,
            &ServiceChoice {
                calendar: Some(CalendarAccess::ReadWrite),
                ..Default::default()
            },
        );
        assert_eq!(
            ms,
            [
                "openid",
                "email",
                "profile",
                "offline_access",
                "Calendars.ReadWrite"
            ]
        );
    }

    #[test]
    fn a_grant_is_read_back_per_service() {
        for provider in [Provider::Google, Provider::Microsoft] {
            let requested = scopes(provider, &ALL);
            assert_eq!(
                granted(provider, &requested),
                ALL,
                "{provider}: everything granted"
            );
        }
        // Google's granular consent: the user unticked contacts.
        let partial: Vec<String> = scopes(Provider::Google, &ALL)
            .into_iter()
            .filter(|s| !s.contains("contacts"))
            .collect();
        assert_eq!(
            granted(Provider::Google, &partial),
            ServiceGrants {
                contacts: false,
                ..ALL
            }
        );
        // Microsoft lists Graph permissions with their resource prefix.
        let prefixed = vec![
            "openid".to_owned(),
            "https://graph.microsoft.com/Mail.Read".to_owned(),
        ];
        assert_eq!(
            granted(Provider::Microsoft, &prefixed),
            ServiceGrants {
                mail: true,
                ..Default::default()
            }
        );
        assert!(granted(Provider::Google, &[]).is_empty());
    }
}
