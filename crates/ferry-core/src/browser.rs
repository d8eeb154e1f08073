//! The user's own web browser. Sign-in always happens there, never in an embedded
//! webview (RFC 8252 §8.12): the shell opens URLs through the OS, tests through a
//! scripted browser that drives the provider sandbox.

use url::Url;

/// Opens a URL in the system browser. Opening must not block: the result of the page
/// comes back later through a loopback listener or a `ferry://` link.
pub trait SystemBrowser: Send + Sync + 'static {
    /// Hands `url` to the browser; the error text is shown to the user.
    fn open(&self, url: &Url) -> Result<(), String>;
}

/// A browser that is never there, for cores that never sign in.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoBrowser;

impl SystemBrowser for NoBrowser {
    fn open(&self, _url: &Url) -> Result<(), String> {
        Err("no web browser is available".into())
    }
}
