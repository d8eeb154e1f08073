import { useEffect, useState } from "react";
import { ApiContext, asAppError, type Api, type AppError, type AppStatus } from "./api";
import { AccountsScreen } from "./screens/AccountsScreen";
import { StartupErrorScreen } from "./screens/StartupErrorScreen";
import { Notices } from "./components/Notices";
import { ProfileBadge } from "./components/ProfileBadge";

export function App({ api }: { api: Api }) {
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [failure, setFailure] = useState<AppError | null>(null);

  useEffect(() => {
    api.appStatus().then(setStatus, (reason: unknown) => { setFailure(asAppError(reason)); });
  }, [api]);

  // Ctrl+W / Cmd+W closes the window, as in other desktop apps; Ferry stays in the tray.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "w") {
        event.preventDefault();
        void api.closeWindow();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => { window.removeEventListener("keydown", onKey); };
  }, [api]);

  const startupError = failure ?? status?.startupError ?? null;
  if (startupError !== null) {
    return <StartupErrorScreen error={startupError} dataDir={status?.info.dataDir ?? null} />;
  }
  if (status === null) {
    return <main className="splash" aria-busy="true" aria-label="Ferry is starting" />;
  }

  return (
    <ApiContext.Provider value={api}>
      <Notices>
        <div className="app">
          <header className="app-header">
            <span className="brand">Ferry</span>
            <ProfileBadge profile={status.info.profile} />
            {status.info.sandbox && (
              <span
                className="badge sandbox"
                data-testid="sandbox-badge"
                title="Accounts here are simulated by Ferry's local provider sandbox, not the real Google or Microsoft."
              >
                Sandbox
              </span>
            )}
          </header>
          <AccountsScreen />
        </div>
      </Notices>
    </ApiContext.Provider>
  );
}
