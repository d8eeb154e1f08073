//! The services an account offers Ferry, in one type used everywhere: the database's
//! rows, the UI's views, what a sign-in asks for and what a grant covers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    Mail,
    Calendar,
    Contacts,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Mail, Service::Calendar, Service::Contacts];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Mail => "mail",
            Service::Calendar => "calendar",
            Service::Contacts => "contacts",
        }
    }

    /// The service a stored name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum CalendarAccess {
    Read,
    ReadWrite,
}

/// What the user asked for in the Add account dialog (mail and contacts are read only).
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

    /// Whether `service` is chosen.
    pub fn includes(&self, service: Service) -> bool {
        match service {
            Service::Mail => self.mail,
            Service::Calendar => self.calendar.is_some(),
            Service::Contacts => self.contacts,
        }
    }
}

/// What the provider actually granted, per service.
pub type ServiceGrants = ServiceChoice;
