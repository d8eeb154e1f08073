// The unified inbox: every account's mail in one list, newest first, with the search box
// on top and the reading pane beside (or, in a narrow window, over) the list.
// Keys: j/k or the arrows move, Enter opens, Escape closes or clears, / searches.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  call,
  subscribe,
  useApi,
  type AccountView,
  type AppError,
  type MailFilter,
  type MailStatus,
  type Mailbox,
  type MessageSummary,
} from "../api";
import { MessageList, rowKey } from "../components/MessageList";
import { ReadingPane } from "../components/ReadingPane";
import { accountColor, mailState } from "../components/mailFormat";
import { useNotices } from "../components/Notices";

/** Rows asked for at a time: a screenful and then some. */
const PAGE = 60;
/** Typing pauses this long before the search runs. */
const SEARCH_DELAY_MS = 200;

const MAILBOXES: { id: Mailbox; label: string }[] = [
  { id: "Inbox", label: "Inbox" },
  { id: "Starred", label: "Starred" },
  { id: "All", label: "All mail" },
];

type Rows =
  | { state: "loading" }
  | { state: "failed"; error: AppError }
  | { state: "ready"; messages: MessageSummary[]; next: string | null; ranked: boolean };

function syncLine(status: MailStatus | undefined): string {
  const state = mailState(status);
  return state.detail === null ? state.label : `${state.label} · ${state.detail}`;
}

function isTyping(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.closest('[role="dialog"]') !== null)
  );
}

interface Props {
  /** Whether this screen is the one shown (keys are only taken then). */
  active: boolean;
  onAddAccount: () => void;
}

export function InboxScreen({ active, onAddAccount }: Props) {
  const api = useApi();
  const [accounts, setAccounts] = useState<AccountView[] | null>(null);
  const [statuses, setStatuses] = useState<MailStatus[]>([]);
  const [mailbox, setMailbox] = useState<Mailbox>("Inbox");
  const [accountId, setAccountId] = useState<string | null>(null);
  const [unreadOnly, setUnreadOnly] = useState(false);
  const [typed, setTyped] = useState("");
  const [search, setSearch] = useState("");
  const [rows, setRows] = useState<Rows>({ state: "loading" });
  const [selected, setSelected] = useState<string | null>(null);
  // In a narrow window the pane covers the list once a message is opened.
  const [paneOpen, setPaneOpen] = useState(false);
  // Bumped to look again: the account list on account changes, the mail (list and sync
  // status) on mail changes and account changes alike.
  const [accountsGeneration, setAccountsGeneration] = useState(0);
  const [mailGeneration, setMailGeneration] = useState(0);
  const loadingMore = useRef(false);
  const searchBox = useRef<HTMLInputElement>(null);
  const notify = useNotices();
  const [exporting, setExporting] = useState(false);

  const filter: MailFilter = useMemo(
    () => ({ mailbox, accountId, folderId: null, unreadOnly, search }),
    [mailbox, accountId, unreadOnly, search],
  );

  // The search runs once typing pauses.
  useEffect(() => {
    const timer = setTimeout(() => { setSearch(typed.trim()); }, SEARCH_DELAY_MS);
    return () => { clearTimeout(timer); };
  }, [typed]);

  useEffect(() => {
    let current = true;
    void call(() => api.listAccounts()).then((r) => { if (current && r.status === "ok") setAccounts(r.data); });
    return () => { current = false; };
  }, [api, accountsGeneration]);

  useEffect(() => {
    let current = true;
    void call(() => api.mailStatus()).then((r) => { if (current && r.status === "ok") setStatuses(r.data); });
    return () => { current = false; };
  }, [api, mailGeneration]);

  useEffect(() => {
    let current = true;
    void call(() => api.listMail(filter, null, PAGE)).then((r) => {
      if (!current) return;
      loadingMore.current = false;
      setRows(r.status === "ok" ? { state: "ready", ...r.data } : { state: "failed", error: r.error });
    });
    return () => { current = false; };
  }, [api, filter, mailGeneration]);

  // New mail, or an account's health or services changed: look again. While another
  // section is shown, the inbox only notes what changed and looks once it is shown again.
  const reloadMail = useCallback(() => { setMailGeneration((g) => g + 1); }, []);
  const reload = useCallback(() => {
    setAccountsGeneration((g) => g + 1);
    reloadMail();
  }, [reloadMail]);
  const shown = useRef(active);
  const missed = useRef<"accounts" | "mail" | null>(null);
  useEffect(() => {
    shown.current = active;
    if (active && missed.current !== null) {
      if (missed.current === "accounts") reload();
      else reloadMail();
      missed.current = null;
    }
  }, [active, reload, reloadMail]);
  const accountsChanged = useCallback(() => {
    if (shown.current) reload();
    else missed.current = "accounts";
  }, [reload]);
  const mailChanged = useCallback(() => {
    if (shown.current) reloadMail();
    else missed.current ??= "mail";
  }, [reloadMail]);
  useEffect(() => subscribe(() => api.onAccountsChanged(accountsChanged)), [api, accountsChanged]);
  useEffect(() => subscribe(() => api.onMailChanged(mailChanged)), [api, mailChanged]);

  const loadMore = useCallback(() => {
    if (rows.state !== "ready" || rows.next === null || loadingMore.current) return;
    loadingMore.current = true;
    const cursor = rows.next;
    void call(() => api.listMail(filter, cursor, PAGE)).then((r) => {
      loadingMore.current = false;
      if (r.status !== "ok") return;
      setRows((prev) => {
        if (prev.state !== "ready" || prev.next !== cursor) return prev;
        // A message already listed (its copy in another account came first) is not repeated.
        const shown = new Set(prev.messages.map((m) => m.messageId ?? rowKey(m)));
        const fresh = r.data.messages.filter((m) => !shown.has(m.messageId ?? rowKey(m)));
        return { ...prev, messages: [...prev.messages, ...fresh], next: r.data.next };
      });
    });
  }, [api, filter, rows]);

  const messages = useMemo(() => (rows.state === "ready" ? rows.messages : []), [rows]);
  const selectedIndex = messages.findIndex((m) => rowKey(m) === selected);
  const current = selectedIndex >= 0 ? messages[selectedIndex] : undefined;

  const move = useCallback(
    (step: number) => {
      if (messages.length === 0) return;
      const next = Math.min(messages.length - 1, Math.max(0, (selectedIndex < 0 ? -1 : selectedIndex) + step));
      const target = messages[next];
      if (target !== undefined) setSelected(rowKey(target));
    },
    [messages, selectedIndex],
  );

  useEffect(() => {
    if (!active) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "Escape" && event.target === searchBox.current && typed !== "") {
        setTyped("");
        return;
      }
      if (isTyping(event.target)) return;
      switch (event.key) {
        case "j":
        case "ArrowDown":
          event.preventDefault();
          move(1);
          break;
        case "k":
        case "ArrowUp":
          event.preventDefault();
          move(-1);
          break;
        case "Enter":
          if (current !== undefined && event.target instanceof HTMLElement && event.target.closest("button, a") === null) {
            event.preventDefault();
            setPaneOpen(true);
            document.getElementById("message-subject")?.focus();
          }
          break;
        case "Escape":
          if (paneOpen) {
            setPaneOpen(false);
            document.querySelector<HTMLElement>('[data-testid="message-list"]')?.focus();
          }
          break;
        case "/":
          event.preventDefault();
          searchBox.current?.focus();
          break;
      }
    };
    window.addEventListener("keydown", onKey);
    return () => { window.removeEventListener("keydown", onKey); };
  }, [active, move, current, paneOpen, typed]);

  const noAccounts = accounts !== null && accounts.length === 0;
  const searching = search !== "";
  const known = accounts ?? [];

  return (
    <main className={`inbox${paneOpen ? " pane-open" : ""}`} aria-labelledby="inbox-title" data-testid="inbox-screen">
      <aside className="mail-sidebar" aria-label="Mailboxes and accounts">
        <h1 id="inbox-title" className="visually-hidden">Inbox</h1>
        <ul className="mailboxes">
          {MAILBOXES.map((m) => (
            <li key={m.id}>
              <button
                type="button"
                className="nav-item"
                aria-current={mailbox === m.id ? "true" : undefined}
                data-testid={`mailbox-${m.id.toLowerCase()}`}
                onClick={() => { setMailbox(m.id); setSelected(null); }}
              >
                {m.label}
              </button>
            </li>
          ))}
        </ul>
        <h2 className="sidebar-heading">Accounts</h2>
        <ul className="mail-accounts">
          <li>
            <button
              type="button"
              className="nav-item"
              aria-current={accountId === null ? "true" : undefined}
              data-testid="mail-account-all"
              onClick={() => { setAccountId(null); }}
            >
              All accounts
            </button>
          </li>
          {known.map((a) => {
            const status = statuses.find((s) => s.accountId === a.id);
            return (
              <li key={a.id}>
                <button
                  type="button"
                  className="nav-item account-filter"
                  aria-current={accountId === a.id ? "true" : undefined}
                  data-testid="mail-account"
                  data-account-id={a.id}
                  onClick={() => { setAccountId(a.id); setSelected(null); }}
                >
                  <span className="dot" style={{ background: accountColor(known, a.id) }} aria-hidden="true" />
                  <span className="account-filter-text">
                    <span className="account-filter-email">{a.email}</span>
                    <span className="muted small" data-testid="mail-sync-status">{syncLine(status)}</span>
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
        <label className="check">
          <input
            type="checkbox"
            checked={unreadOnly}
            data-testid="unread-only"
            onChange={(e) => { setUnreadOnly(e.target.checked); }}
          />
          Unread only
        </label>
      </aside>

      <section className="mail-list-column" aria-label="Messages">
        <div className="search-bar">
          <input
            ref={searchBox}
            type="search"
            className="search-box"
            placeholder="Search mail  (from:  to:  account:  has:attachment  is:unread  before:2026-01-31)"
            aria-label="Search mail"
            aria-keyshortcuts="/"
            aria-describedby={rows.state === "failed" && rows.error.code === "Validation" ? "search-error" : undefined}
            value={typed}
            data-testid="search-box"
            onChange={(e) => { setTyped(e.target.value); }}
          />
          <button
            type="button"
            className="button small"
            data-testid="export-mbox"
            disabled={exporting || messages.length === 0}
            title="Save every message shown here as one mbox file in Downloads"
            onClick={() => {
              setExporting(true);
              void call(() => api.exportMbox(filter)).then((r) => {
                setExporting(false);
                notify(
                  r.status === "ok"
                    ? { level: "info", message: `Saved ${r.data.messages.toLocaleString()} messages to ${r.data.path}` }
                    : { level: "error", message: r.error.message },
                );
              });
            }}
          >
            {exporting ? "Exporting…" : "Export as mbox"}
          </button>
        </div>
        {rows.state === "failed" && rows.error.code === "Validation" && (
          <p id="search-error" className="search-error" role="status" data-testid="search-error">
            {rows.error.message}
          </p>
        )}
        {rows.state === "failed" && rows.error.code !== "Validation" && (
          <div className="panel error" role="alert" data-testid="mail-error">
            <p>Ferry could not show your mail: {rows.error.message}</p>
            <button type="button" className="button" data-testid="mail-retry" onClick={reload}>Try again</button>
          </div>
        )}
        {rows.state === "loading" && <p className="muted list-note" aria-busy="true">Loading mail…</p>}
        {noAccounts && (
          <section className="empty" data-testid="inbox-empty">
            <h2>No mail yet</h2>
            <p className="muted">Add a Google or Microsoft account and its mail arrives here, newest first.</p>
            <button type="button" className="button primary" data-testid="inbox-add-account" onClick={onAddAccount}>
              Add account
            </button>
          </section>
        )}
        {!noAccounts && rows.state === "ready" && messages.length === 0 && (
          <p className="muted list-note" role="status" data-testid="mail-none">
            {searching
              ? "No messages match this search."
              : statuses.some((s) => !s.caughtUp)
                ? "Your mail is on its way: the newest arrives first."
                : unreadOnly
                  ? "Nothing unread here."
                  : "No messages here."}
          </p>
        )}
        {rows.state === "ready" && messages.length > 0 && (
          <>
            <p className="visually-hidden" role="status">
              {searching ? `${String(messages.length)}${rows.next !== null ? "+" : ""} messages match, best first` : ""}
            </p>
            <MessageList
              messages={messages}
              accounts={known}
              selected={selected}
              more={rows.next !== null}
              label={searching ? "Search results" : MAILBOXES.find((m) => m.id === mailbox)?.label ?? "Messages"}
              onSelect={(key) => { setSelected(key); setPaneOpen(true); }}
              onOpen={(key) => { setSelected(key); setPaneOpen(true); }}
              onNeedMore={loadMore}
            />
          </>
        )}
      </section>

      <div className="reading-column">
        {current !== undefined ? (
          <ReadingPane
            key={rowKey(current)}
            message={current}
            accounts={known}
            onClose={() => {
              setPaneOpen(false);
              document.querySelector<HTMLElement>('[data-testid="message-list"]')?.focus();
            }}
          />
        ) : (
          <p className="muted pane-note" data-testid="reading-empty">
            {messages.length > 0 ? "Choose a message to read it here (j and k move, / searches)." : ""}
          </p>
        )}
      </div>
    </main>
  );
}
