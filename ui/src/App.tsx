import { useEffect, useState } from "react";
import { ApiContext, asAppError, call, subscribe, type Api, type AppError, type AppStatus } from "./api";
import { AccountsScreen } from "./screens/AccountsScreen";
import { InboxScreen } from "./screens/InboxScreen";
import { StatusScreen } from "./screens/StatusScreen";
import { StartupErrorScreen } from "./screens/StartupErrorScreen";
import { Notices } from "./components/Notices";
import { ProfileBadge } from "./components/ProfileBadge";

type Section = "inbox" | "accounts" | "status";

const SECTIONS: { id: Section; label: string }[] = [
  { id: "inbox", label: "Inbox" },
  { id: "accounts", label: "Accounts" },
  { id: "status", label: "Status" },
];

export function App({ api }: { api: Api }) {
  const [status, setStatus] = useState<AppStatus | null>(null);
  const [failure, setFailure] = useState<AppError | null>(null);
  // Which screen: the inbox once an account brings mail, else Accounts (to add one).
  const [section, setSection] = useState<Section | null>(null);
  const [addRequests, setAddRequests] = useState(0);

  useEffect(() => {
    void call(() => api.listAccounts()).then((r) => {
      const hasMail =
        r.status === "ok" &&
        r.data.some((a) => a.services.some((s) => s.service === "mail" && s.granted));
      setSection((current) => current ?? (hasMail ? "inbox" : "accounts"));
    });
  }, [api]);

  // Review chosen in the tray or a notification: a held sync is answered on Status.
  useEffect(() => subscribe(() => api.onReviewRequested(() => { setSection("status"); })), [api]);

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
  if (status === null || section === null) {
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
            <nav className="sections" aria-label="Sections" data-testid="app-nav">
              {SECTIONS.map((s) => (
                <button
                  key={s.id}
                  type="button"
                  className="section-tab"
                  aria-current={section === s.id ? "page" : undefined}
                  data-testid={`nav-${s.id}`}
                  onClick={() => { setSection(s.id); }}
                >
                  {s.label}
                </button>
              ))}
            </nav>
          </header>
          {/* Both stay mounted, so a sign-in under way or a scrolled list survives a switch. */}
          <div className="section" hidden={section !== "inbox"}>
            <InboxScreen
              active={section === "inbox"}
              onAddAccount={() => {
                setSection("accounts");
                setAddRequests((n) => n + 1);
              }}
            />
          </div>
          <div className="section" hidden={section !== "accounts"}>
            <AccountsScreen addRequests={addRequests} />
          </div>
          {section === "status" && <StatusScreen />}
        </div>
      </Notices>
    </ApiContext.Provider>
  );
}
