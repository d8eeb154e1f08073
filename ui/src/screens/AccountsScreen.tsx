import { useCallback, useEffect, useRef, useState } from "react";
import { asAppError, call, subscribe, useApi, type AccountView, type AppError } from "../api";
import { AddAccountDialog, type Reconnect } from "../components/AddAccountDialog";
import { AccountRow } from "../components/AccountRow";
import { AccountPage } from "./AccountPage";
import { VaultBanner } from "../components/VaultBanner";
import { SettingsDialog } from "../components/SettingsDialog";
import { LaunchAtLoginOffer } from "../components/LaunchAtLoginOffer";
import { CheckProgress } from "../components/CheckProgress";
import { UpdateBanner } from "../components/Updates";
import { requestedServices } from "./AccountPage";
import { ACCOUNTS_HEADING, focusFirst, useFocusRescue } from "../focus";

type Load =
  | { state: "loading" }
  | { state: "failed"; error: AppError }
  | { state: "ready"; accounts: AccountView[] };

/** `addRequests`: each increase opens Add account (the inbox's empty state asks so). */
export function AccountsScreen({ addRequests = 0 }: { addRequests?: number } = {}) {
  const api = useApi();
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [adding, setAdding] = useState(false);
  // Kept in state so the dialog sees the same object for the whole sign-in.
  const [reconnect, setReconnect] = useState<Reconnect | null>(null);
  const [openAccount, setOpenAccount] = useState<string | null>(null);
  // The account whose page was last open: back on the list, focus returns to its row.
  const cameFrom = useRef<string | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  // A Reconnect chosen in a notification or the tray, taken up once the list has loaded.
  const pendingReconnect = useRef<string | null>(null);
  const reportedReady = useRef(false);

  // Bumping the generation reloads the list; a response for an older generation is dropped.
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => { setGeneration((g) => g + 1); }, []);

  const startReconnect = useCallback((account: AccountView) => {
    setReconnect({
      accountId: account.id,
      email: account.email,
      provider: account.provider,
      services: requestedServices(account),
    });
    setAdding(true);
  }, []);

  useEffect(() => {
    let current = true;
    api.listAccounts().then(
      (result) => {
        if (!current) return;
        setLoad(
          result.status === "ok"
            ? { state: "ready", accounts: result.data }
            : { state: "failed", error: result.error },
        );
        const wanted = pendingReconnect.current;
        const account = result.status === "ok" ? result.data.find((a) => a.id === wanted) : undefined;
        if (account !== undefined) {
          pendingReconnect.current = null;
          startReconnect(account);
        }
      },
      (reason: unknown) => {
        if (current) setLoad({ state: "failed", error: asAppError(reason) });
      },
    );
    return () => {
      current = false;
    };
  }, [api, generation, startReconnect]);

  useEffect(() => subscribe(() => api.onAccountsChanged(reload)), [api, reload]);
  useEffect(
    () =>
      subscribe(() =>
        api.onReconnectRequested((accountId) => {
          pendingReconnect.current = accountId;
          reload();
        }),
      ),
    [api, reload],
  );

  // Tell the backend once the first real screen is on glass (for start-up timing).
  useEffect(() => {
    if (load.state === "loading" || reportedReady.current) return;
    reportedReady.current = true;
    // The animation frame comes just before the paint; a task queued from it runs just after.
    requestAnimationFrame(() => {
      setTimeout(() => void api.uiReady().catch(() => undefined), 0);
    });
  }, [api, load.state]);

  const [addsSeen, setAddsSeen] = useState(addRequests);
  if (addRequests !== addsSeen) {
    setAddsSeen(addRequests);
    setReconnect(null);
    setAdding(true);
  }

  // Ctrl+N / Cmd+N opens Add account from anywhere on the screen.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "n") {
        event.preventDefault();
        setReconnect(null);
        setAdding(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => { window.removeEventListener("keydown", onKey); };
  }, []);

  const addButton = (
    <button
      type="button"
      className="button primary"
      data-testid="add-account"
      aria-keyshortcuts="Control+N"
      onClick={() => {
        setReconnect(null);
        setAdding(true);
      }}
    >
      Add account
    </button>
  );

  const shownAccount =
    load.state === "ready" ? (load.accounts.find((a) => a.id === openAccount) ?? null) : null;
  const showingList = shownAccount === null;
  // The empty state's Add account gives way to the list: focus goes to the header's.
  useFocusRescue(['[data-testid="add-account"]', ACCOUNTS_HEADING]);

  useEffect(() => {
    if (!showingList || cameFrom.current === null) return;
    const id = cameFrom.current;
    cameFrom.current = null;
    // Its Manage button; if the account was just removed, Add account.
    focusFirst(
      `[data-account-id="${CSS.escape(id)}"] [data-testid="account-open"]`,
      '[data-testid="add-account"]',
      ACCOUNTS_HEADING,
    );
  }, [showingList]);

  // The dialogs are built the first time they open, and kept from then on: a window opens
  // faster without them, and a sign-in under way keeps its dialog.
  const [addBuilt, setAddBuilt] = useState(false);
  if (adding && !addBuilt) setAddBuilt(true);
  const [settingsBuilt, setSettingsBuilt] = useState(false);
  if (settingsOpen && !settingsBuilt) setSettingsBuilt(true);

  const dialog = addBuilt && (
    <AddAccountDialog
      open={adding}
      onOpenChange={(open) => {
        setAdding(open);
        if (!open) setReconnect(null);
      }}
      reconnect={reconnect}
      returnFocus={
        showingList
          ? ['[data-testid="add-account"]', ACCOUNTS_HEADING]
          : ['[data-testid="account-reconnect"]', "#account-title"]
      }
    />
  );

  if (shownAccount !== null) {
    return (
      <main className="accounts" data-testid="accounts-screen">
        <AccountPage
          account={shownAccount}
          onBack={() => {
            cameFrom.current = shownAccount.id;
            setOpenAccount(null);
          }}
          onReconnect={(next) => {
            setReconnect(next);
            setAdding(true);
          }}
        />
        {dialog}
      </main>
    );
  }

  return (
    <main className="accounts" aria-labelledby="accounts-title" data-testid="accounts-screen">
      <VaultBanner />
      <UpdateBanner />
      <div className="screen-header">
        <h1 id="accounts-title" tabIndex={-1}>
          Accounts
        </h1>
        <div className="header-actions">
          {load.state === "ready" && load.accounts.length > 0 && (
            <button
              type="button"
              className="button"
              data-testid="sync-now"
              title="Check every connection now"
              onClick={() => void call(() => api.checkNow())}
            >
              Sync now
            </button>
          )}
          <button type="button" className="button" data-testid="open-settings" onClick={() => { setSettingsOpen(true); }}>
            Settings
          </button>
          {load.state === "ready" && load.accounts.length > 0 && addButton}
        </div>
      </div>
      {load.state === "ready" && load.accounts.length > 0 && (
        <>
          <CheckProgress />
          <LaunchAtLoginOffer />
        </>
      )}

      {load.state === "loading" && (
        <p className="muted" aria-busy="true" data-testid="accounts-loading">
          Loading accounts…
        </p>
      )}

      {load.state === "failed" && (
        <div className="panel error" role="alert" data-testid="accounts-error">
          <p>Ferry could not load your accounts: {load.error.message}</p>
          <button type="button" className="button" data-testid="accounts-retry" onClick={reload}>
            Try again
          </button>
        </div>
      )}

      {load.state === "ready" && load.accounts.length === 0 && (
        <section className="empty" data-testid="accounts-empty" aria-labelledby="empty-title">
          <img src="/ferry.svg" alt="" width={96} height={96} />
          <h2 id="empty-title">No accounts yet</h2>
          <p className="muted">
            Add a Google or Microsoft account to bring its mail, calendar and contacts into
            Ferry. You sign in in your own browser; Ferry never sees your password.
          </p>
          {addButton}
        </section>
      )}

      {load.state === "ready" && load.accounts.length > 0 && (
        <ul className="account-list" data-testid="account-list">
          {load.accounts.map((account) => (
            <AccountRow
              key={account.id}
              account={account}
              onOpen={() => { setOpenAccount(account.id); }}
              onReconnect={() => { startReconnect(account); }}
            />
          ))}
        </ul>
      )}

      {dialog}
      {settingsBuilt && <SettingsDialog open={settingsOpen} onOpenChange={setSettingsOpen} />}
    </main>
  );
}
