//! Which installation this process is: a real install, a developer build or a test run.
//!
//! Each profile has its own app identifier, and the identifier namespaces everything
//! Ferry keeps on the machine: the data, config and log directories, the keychain
//! entries and the single-instance lock. A test run can therefore never read or change
//! a real install's accounts, and a developer's build never touches the installed app's.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// The identifier in `tauri.conf.json`; a test checks that the two agree.
pub const RELEASE_IDENTIFIER: &str = "dev.ferry.desktop";

/// The environment variable that selects a profile explicitly.
pub const PROFILE_ENV: &str = "FERRY_PROFILE";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// An installed Ferry.
    Release,
    /// A debug build run by a developer.
    Dev,
    /// An automated test run.
    Test,
}

impl Profile {
    /// The profile for this process: `FERRY_PROFILE` when set, otherwise `Dev` for debug
    /// builds and `Release` for release builds.
    pub fn select(env_value: Option<&str>, debug_build: bool) -> Result<Self, UnknownProfile> {
        match env_value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(value) => value.parse(),
            None if debug_build => Ok(Profile::Dev),
            None => Ok(Profile::Release),
        }
    }

    /// The app identifier for this profile. Never ends in `.app`, which macOS reserves.
    pub fn identifier(self) -> String {
        match self {
            Profile::Release => RELEASE_IDENTIFIER.to_owned(),
            Profile::Dev => format!("{RELEASE_IDENTIFIER}.dev"),
            Profile::Test => format!("{RELEASE_IDENTIFIER}.test"),
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Release => "release",
            Profile::Dev => "dev",
            Profile::Test => "test",
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {PROFILE_ENV} value {0:?}: expected release, dev or test")]
pub struct UnknownProfile(pub String);

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "release" => Ok(Profile::Release),
            "dev" => Ok(Profile::Dev),
            "test" => Ok(Profile::Test),
            other => Err(UnknownProfile(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_profile_has_its_own_identifier() {
        let ids = [Profile::Release, Profile::Dev, Profile::Test].map(Profile::identifier);
        assert_eq!(ids[0], "dev.ferry.desktop");
        assert_ne!(
            ids[0], ids[1],
            "dev builds must not share the install's namespace"
        );
        assert_ne!(
            ids[0], ids[2],
            "tests must not share the install's namespace"
        );
        assert_ne!(
            ids[1], ids[2],
            "tests must not share a developer's namespace"
        );
        for id in ids {
            assert!(
                !id.ends_with(".app"),
                "{id} ends in .app, which macOS reserves"
            );
        }
    }

    #[test]
    fn selection_prefers_the_environment_and_rejects_unknown_values() {
        assert_eq!(Profile::select(Some("test"), false), Ok(Profile::Test));
        assert_eq!(Profile::select(Some(" dev "), false), Ok(Profile::Dev));
        assert_eq!(Profile::select(None, true), Ok(Profile::Dev));
        assert_eq!(Profile::select(Some(""), false), Ok(Profile::Release));
        assert_eq!(
            Profile::select(Some("prod"), true),
            Err(UnknownProfile("prod".into()))
        );
    }
}
