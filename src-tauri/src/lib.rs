//! Ferry's desktop shell: Tauri wiring only. Windows, tray, plugins, commands and events
//! live here; every decision is made by `ferry_core::Core`.

mod args;
mod autostart;
mod browser;
mod diagnostics;
mod instance;
mod ipc;
mod links;
mod notifications;
mod signals;
mod slim;
mod tray;
mod updates;
#[cfg(target_os = "linux")]
mod wake;
mod window;

use std::sync::Arc;
use std::time::Instant;

use ferry_core::clock::SystemClock;
use ferry_core::logging::{self, LOG_FILTER_ENV};
use ferry_core::profile::{Profile, PROFILE_ENV};
use ferry_core::providers::{self, ProviderSettings};
use ferry_core::vault::OsKeyStore;
use ferry_core::{AppError, AppInfo, Core, CoreConfig, Platform};
use tauri::{Manager, RunEvent};

pub use ipc::specta_builder;

/// Set to `1` to log to stderr in release builds too (debug builds always do).
const LOG_STDERR_ENV: &str = "FERRY_LOG_STDERR";

/// What every command can reach: the core, or why it failed to start.
pub(crate) struct Shell {
    pub info: AppInfo,
    pub core: Result<Arc<Core>, AppError>,
    pub sink: Arc<ipc::TauriSink>,
    pub notifier: Arc<notifications::DesktopNotifier>,
    pub started: Instant,
}

impl Shell {
    pub fn core(&self) -> Result<&Arc<Core>, AppError> {
        self.core.as_ref().map_err(Clone::clone)
    }
}

pub fn run() {
    let started = Instant::now();
    // Before any plugin reads the command line (see args.rs).
    args::ensure_text();
    let dropped_args = args::dropped_by_restart();
    let handover = slim::await_predecessor();
    let profile = match Profile::select(
        std::env::var(PROFILE_ENV).ok().as_deref(),
        cfg!(debug_assertions),
    ) {
        Ok(profile) => profile,
        Err(err) => {
            eprintln!("ferry: {err}");
            std::process::exit(2);
        }
    };

    let mut context = tauri::generate_context!();
    // The identifier namespaces data, logs, keychain entries and the single-instance lock.
    context.config_mut().identifier = profile.identifier();

    let specta = ipc::specta_builder();
    let invoke_handler = specta.invoke_handler();

    let app = tauri::Builder::default()
        // Single-instance first, so a second launch hands over its arguments and exits
        // before any other plugin starts.
        .plugin(tauri_plugin_single_instance::init(|app, args, _cwd| {
            links::on_second_instance(app, &args);
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(autostart::plugin())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(updates::plugin(profile))
        .manage(updates::Updates::default())
        .manage(slim::Slim::default())
        .invoke_handler(invoke_handler)
        .setup(move |app| {
            let handle = app.handle().clone();
            let paths = app.path();
            let log_dir = paths.app_log_dir()?;
            let data_dir = paths.app_data_dir()?;
            let to_stderr =
                cfg!(debug_assertions) || std::env::var(LOG_STDERR_ENV).is_ok_and(|v| v == "1");
            let log_guard = logging::init(
                &log_dir,
                to_stderr,
                std::env::var(LOG_FILTER_ENV).ok().as_deref(),
            )?;
            app.manage(log_guard);
            tracing::info!(
                %profile,
                pid = std::process::id(),
                identifier = %app.config().identifier,
                log_dir = %log_dir.display(),
                "Ferry starting"
            );
            if let Some(handover) = &handover {
                tracing::info!(
                    predecessor = handover.predecessor,
                    quit = handover.gone,
                    waited_ms = handover.waited.as_millis() as u64,
                    "taking over from the Ferry that restarted in the tray"
                );
            }
            if dropped_args > 0 {
                tracing::warn!(
                    count = dropped_args,
                    "ignored command-line arguments that were not valid text"
                );
            }

            specta.mount_events(app);
            let config_file = paths.app_config_dir()?.join(providers::config::CONFIG_FILE);
            let providers = ProviderSettings::load(&config_file, |name| std::env::var(name).ok());
            if let Ok(settings) = &providers {
                tracing::info!(
                    google = ?settings.google.as_ref().map(|g| g.source),
                    microsoft = ?settings.microsoft.as_ref().map(|m| m.source),
                    "providers configured"
                );
            }
            let config = CoreConfig {
                profile,
                version: app.package_info().version.to_string(),
                data_dir,
                providers: providers.clone().unwrap_or_default(),
            };
            let info = config.info();
            let sink = Arc::new(ipc::TauriSink::new(handle.clone()));
            let notifier = Arc::new(notifications::DesktopNotifier::new(
                handle.clone(),
                sink.clone(),
            ));
            diagnostics::install_panic_hook(Arc::clone(&sink));
            let core = providers
                .map_err(AppError::from)
                .map(|_| config)
                .and_then(|config| {
                    tauri::async_runtime::block_on(Core::start(
                        config,
                        Platform {
                            key_store: Arc::new(OsKeyStore),
                            clock: Arc::new(SystemClock),
                            events: sink.clone(),
                            browser: Arc::new(browser::Opener::new(handle.clone())),
                            notifier: notifier.clone(),
                        },
                    ))
                })
                .map(Arc::new)
                .inspect_err(|err| tracing::error!(code = ?err.code, %err, "core failed to start"));
            if let Ok(core) = &core {
                core.start_keeper();
                #[cfg(target_os = "linux")]
                wake::watch(Arc::clone(core));
            }
            app.manage(Shell {
                info,
                core,
                sink,
                notifier,
                started,
            });

            if args::current().iter().any(|arg| arg == window::HIDDEN_FLAG) {
                tracing::info!("started hidden, in the tray");
            } else {
                window::create_main(&handle)?;
            }
            if let Err(err) = tray::create(&handle) {
                // A desktop without a tray still gets a working window.
                tracing::warn!(%err, "could not create the tray icon");
            }
            links::on_cold_start(&handle);
            updates::start(&handle);
            signals::quit_on_terminate(&handle);
            Ok(())
        })
        .build(context);

    let app = match app {
        Ok(app) => app,
        Err(err) => {
            if instance::handover_failed(&err.to_string()) {
                eprintln!("ferry: the running Ferry did not answer ({err}); starting again");
                instance::start_again();
            }
            eprintln!("ferry: could not start: {err}");
            std::process::exit(1);
        }
    };
    instance::forget_retry();
    app.run(|handle, event| match event {
        // Closing the window keeps Ferry in the tray; only Quit ends it.
        RunEvent::ExitRequested {
            api, code: None, ..
        } => api.prevent_exit(),
        RunEvent::Exit => shutdown(handle),
        _ => {}
    });
}

fn shutdown(handle: &tauri::AppHandle) {
    if let Some(shell) = handle.try_state::<Shell>() {
        if let Ok(core) = &shell.core {
            tauri::async_runtime::block_on(core.shutdown());
        }
    }
    tracing::info!("Ferry stopped");
}
