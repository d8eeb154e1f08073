//! The command line as text. An argument that is not valid Unicode cannot be a `ferry://`
//! link or one of Ferry's flags, yet `std::env::args()` panics on it, and Tauri's
//! deep-link plugin calls that at start-up. So the shell checks the arguments first
//! ([`text_arguments`]) and, if any is not text, starts itself again without it.

use std::ffi::OsString;

/// Set on the restarted process: how many arguments were left out, for its log.
pub const DROPPED_ARGS_ENV: &str = "FERRY_DROPPED_ARGS";

/// The arguments that are text, and how many were not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextArgs {
    /// The program name (converted lossily if need be: it is not interpreted), then every
    /// argument that is valid Unicode, in order.
    pub kept: Vec<String>,
    /// Arguments left out because they are not valid Unicode.
    pub dropped: usize,
}

/// Splits the raw arguments into text and the count of those that are not.
pub fn text_arguments(args: impl IntoIterator<Item = OsString>) -> TextArgs {
    let mut args = args.into_iter();
    let mut kept: Vec<String> = args
        .next()
        .map(|program| program.to_string_lossy().into_owned())
        .into_iter()
        .collect();
    let mut dropped = 0;
    for arg in args {
        match arg.into_string() {
            Ok(text) => kept.push(text),
            Err(_) => dropped += 1,
        }
    }
    TextArgs { kept, dropped }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::ffi::OsStringExt;

    use super::*;

    #[test]
    fn arguments_that_are_not_text_are_counted_and_left_out() {
        let raw = vec![
            OsString::from_vec(b"/opt/\xffferry".to_vec()),
            OsString::from("--hidden"),
            OsString::from_vec(b"ferry://oauth/microsoft?code=\xfe".to_vec()),
            OsString::from("ferry://oauth/microsoft?code=a&state=b"),
            OsString::from_vec(vec![0x80]),
        ];
        let args = text_arguments(raw);
        assert_eq!(args.dropped, 2);
        assert_eq!(
            args.kept,
            [
                "/opt/\u{fffd}ferry",
                "--hidden",
                "ferry://oauth/microsoft?code=a&state=b"
            ]
        );
        assert_eq!(
            text_arguments(Vec::new()),
            TextArgs {
                kept: vec![],
                dropped: 0
            }
        );
    }
}
