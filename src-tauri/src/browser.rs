//! The system browser, through the opener plugin (xdg-open, `open`, ShellExecute).

use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;
use url::Url;

pub struct Opener {
    app: AppHandle,
}

impl Opener {
    pub fn new(app: AppHandle) -> Self {
        Self { app }
    }
}

impl ferry_core::browser::SystemBrowser for Opener {
    fn open(&self, url: &Url) -> Result<(), String> {
        self.app
            .opener()
            .open_url(url.as_str(), None::<&str>)
            .map_err(|err| err.to_string())
    }
}
