//! Injected failures: a rule matches requests by service, method, path and grant type,
//! and replaces (or delays) the provider's answer a given number of times.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `google` or `microsoft`; none matches both.
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    /// Matches when the request path contains this text.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Matches token requests with this `grant_type`.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// How many matching requests it affects; none means until cleared.
    #[serde(default)]
    pub times: Option<u32>,
    pub action: FaultAction,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer with this status and body (and `Retry-After` when given).
    Respond {
        status: u16,
        #[serde(default)]
        body: String,
        #[serde(default)]
        content_type: Option<String>,
        #[serde(default)]
        retry_after_s: Option<u64>,
        /// Further headers, e.g. a `WWW-Authenticate` claims challenge.
        #[serde(default)]
        headers: std::collections::BTreeMap<String, String>,
    },
    /// Wait this long, then answer normally.
    Latency { ms: u64 },
    /// Close the connection without a complete response.
    Drop,
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Answer with Microsoft's error body for this AADSTS code (token endpoint shape).
    Aadsts { code: u32 },
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        self.rules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(rule);
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The action for this request, if a rule matches; uses up one of its `times`.
    pub fn take(
        &self,
        service: &str,
        method: &str,
        path: &str,
        grant_type: Option<&str>,
    ) -> Option<FaultAction> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let index = rules.iter().position(|rule| {
            rule.service.as_deref().is_none_or(|s| s == service)
                && rule
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && rule
                    .path_contains
                    .as_deref()
                    .is_none_or(|p| path.contains(p))
                && rule
                    .grant_type
                    .as_deref()
                    .is_none_or(|g| Some(g) == grant_type)
                && rule.times != Some(0)
        })?;
        let rule = &mut rules[index];
        let action = rule.action.clone();
        if let Some(times) = rule.times.as_mut() {
            *times -= 1;
            if *times == 0 {
                rules.remove(index);
            }
        }
        Some(action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_fires_the_given_number_of_times_then_goes() {
        let faults = Faults::default();
        faults.add(FaultRule {
            service: Some("google".into()),
            method: None,
            path_contains: Some("/token".into()),
            grant_type: Some("refresh_token".into()),
            times: Some(2),
            action: FaultAction::Drop,
        });
        assert_eq!(
            faults.take("microsoft", "POST", "/token", Some("refresh_token")),
            None
        );
        assert_eq!(
            faults.take("google", "POST", "/token", Some("authorization_code")),
            None
        );
        assert_eq!(
            faults.take("google", "POST", "/token", Some("refresh_token")),
            Some(FaultAction::Drop)
        );
        assert_eq!(
            faults.take("google", "POST", "/token", Some("refresh_token")),
            Some(FaultAction::Drop)
        );
        assert_eq!(
            faults.take("google", "POST", "/token", Some("refresh_token")),
            None
        );
        assert!(faults.list().is_empty(), "a spent rule is removed");
    }
}
