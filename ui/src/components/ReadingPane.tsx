// The reading pane: a conversation with one message open. HTML is shown in a sandboxed
// frame (no scripts, no forms, nothing that can reach Ferry), remote images stay out
// until the user allows them for that message; attachments open or save from here.
import { useEffect, useState } from "react";
import { call, useApi, type AccountView, type AppError, type MessageSummary, type MessageView } from "../api";
import { accountColor, accountLabel, fileSize, longDate, person, shortDate } from "./mailFormat";
import { Highlighted, rowKey } from "./MessageList";
import { useNotices } from "./Notices";

/** The frame's own rules: nothing loads but inline images (and remote ones once allowed). */
function frameDocument(html: string, remote: boolean): string {
  const images = remote ? "data: https: http:" : "data:";
  return `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src ${images}; style-src 'unsafe-inline'">
<style>body{font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;color:#1c2330;background:#fff;margin:12px;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style>
</head><body>${html}</body></html>`;
}

type Load = { state: "loading" } | { state: "failed"; error: AppError } | { state: "ready"; view: MessageView };

function MessageBody({ message, accounts }: { message: { accountId: string; id: string }; accounts: AccountView[] }) {
  const api = useApi();
  const notify = useNotices();
  const [remote, setRemote] = useState(false);
  const [attempt, setAttempt] = useState(0);
  // What was loaded, and for which request: a newer request shows as loading.
  const request = `${String(remote)}:${String(attempt)}`;
  const [loaded, setLoaded] = useState<{ request: string; load: Load } | null>(null);
  const load: Load = loaded?.request === request ? loaded.load : { state: "loading" };

  useEffect(() => {
    let current = true;
    void call(() => api.readMessage({ accountId: message.accountId, id: message.id }, remote)).then((result) => {
      if (!current) return;
      setLoaded({
        request,
        load: result.status === "ok" ? { state: "ready", view: result.data } : { state: "failed", error: result.error },
      });
    });
    return () => { current = false; };
  }, [api, message.accountId, message.id, remote, request]);

  if (load.state === "loading") {
    return <p className="muted" aria-busy="true" data-testid="message-loading">Opening the message…</p>;
  }
  if (load.state === "failed") {
    return (
      <div className="panel error" role="alert" data-testid="message-error">
        <p>Ferry could not open this message: {load.error.message}</p>
        <button type="button" className="button" data-testid="message-retry" onClick={() => { setAttempt((n) => n + 1); }}>
          Try again
        </button>
      </div>
    );
  }
  const view = load.view;
  const ref = { accountId: view.accountId, id: view.id };
  const holders = [view.accountId, ...view.alsoIn.map((c) => c.accountId)];
  const files = view.attachments.filter((a) => !a.inline || view.html === null);
  return (
    <article className="message" data-testid="message-view" aria-labelledby="message-subject">
      <header className="message-header">
        <h2 id="message-subject" tabIndex={-1}>{view.subject || "(no subject)"}</h2>
        <p className="message-from">
          <strong>{person(view.from.name, view.from.address)}</strong>
          {view.from.name !== "" && <span className="muted"> &lt;{view.from.address}&gt;</span>}
        </p>
        {view.to.length > 0 && (
          <p className="muted message-to">To: {view.to.map((a) => person(a.name, a.address)).join(", ")}</p>
        )}
        {view.cc.length > 0 && (
          <p className="muted message-to">Cc: {view.cc.map((a) => person(a.name, a.address)).join(", ")}</p>
        )}
        <p className="muted message-meta">
          <time dateTime={view.receivedAt}>{longDate(view.receivedAt)}</time>
          {" · "}
          {holders.map((id, i) => (
            <span key={id} className="account-chip labelled" data-testid="message-account">
              <span className="dot" style={{ background: accountColor(accounts, id) }} aria-hidden="true" />
              {accountLabel(accounts, id)}
              {i < holders.length - 1 ? ", " : ""}
            </span>
          ))}
          {view.folders.length > 0 && <> · {view.folders.join(", ")}</>}
        </p>
      </header>
      <div className="message-actions">
        <button
          type="button"
          className="button small"
          data-testid="message-export"
          onClick={() => {
            void call(() => api.exportMessage(ref)).then((r) => {
              notify(
                r.status === "ok"
                  ? { level: "info", message: `Saved to ${r.data}` }
                  : { level: "error", message: r.error.message },
              );
            });
          }}
        >
          Save as .eml
        </button>
      </div>
      {view.unreadable ? (
        <div className="panel warning" role="note" data-testid="message-problem">
          Ferry could not read this message ({view.problem ?? "unknown format"}). It is kept exactly as it
          arrived and shown below as received.
        </div>
      ) : (
        view.problem !== null && (
          <p className="muted small" role="note" data-testid="message-note">Note: {view.problem}.</p>
        )
      )}
      {view.remoteBlocked > 0 && !remote && (
        <div className="panel info remote-banner" data-testid="remote-blocked">
          <p>
            {view.remoteBlocked === 1 ? "1 remote image was" : `${String(view.remoteBlocked)} remote images were`} not
            loaded, so the sender cannot tell you opened this message.
          </p>
          <button type="button" className="button" data-testid="remote-allow" onClick={() => { setRemote(true); }}>
            Show images
          </button>
        </div>
      )}
      {view.html !== null ? (
        <iframe
          className="message-frame"
          title={`Message: ${view.subject || "no subject"}`}
          sandbox=""
          srcDoc={frameDocument(view.html, remote)}
          data-testid="message-frame"
        />
      ) : (
        <pre className="message-text" data-testid="message-text">{view.text}</pre>
      )}
      {files.length > 0 && (
        <section aria-label="Attachments" className="attachments" data-testid="attachments">
          <h3>Attachments</h3>
          <ul>
            {files.map((a) => (
              <li key={a.index} data-testid="attachment">
                <span className="attachment-name">{a.filename}</span>
                <span className="muted"> {fileSize(a.size)}</span>
                <button
                  type="button"
                  className="button small"
                  data-testid="attachment-open"
                  aria-label={`Open ${a.filename}`}
                  onClick={() => {
                    void call(() => api.openAttachment(ref, a.index)).then((r) => {
                      if (r.status === "error") notify({ level: "error", message: r.error.message });
                    });
                  }}
                >
                  Open
                </button>
                <button
                  type="button"
                  className="button small"
                  data-testid="attachment-save"
                  aria-label={`Save ${a.filename} to Downloads`}
                  onClick={() => {
                    void call(() => api.saveAttachment(ref, a.index)).then((r) => {
                      notify(
                        r.status === "ok"
                          ? { level: "info", message: `Saved to ${r.data}` }
                          : { level: "error", message: r.error.message },
                      );
                    });
                  }}
                >
                  Save
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </article>
  );
}

interface Props {
  message: MessageSummary;
  accounts: AccountView[];
  /** Shown in narrow windows, where the pane covers the list. */
  onClose: () => void;
}

/**
 * The open message and, above it, the rest of its conversation (each opens on click).
 * Keyed by the message by its parent, so another message starts afresh.
 */
export function ReadingPane({ message, accounts, onClose }: Props) {
  const api = useApi();
  const [thread, setThread] = useState<MessageSummary[]>([]);
  const [open, setOpen] = useState(rowKey(message));

  const { accountId, threadId, threadSize } = message;
  useEffect(() => {
    if (threadSize < 2) return;
    let current = true;
    void call(() => api.mailConversation(accountId, threadId)).then((r) => {
      if (current && r.status === "ok") setThread(r.data);
    });
    return () => { current = false; };
  }, [api, accountId, threadId, threadSize]);

  const others = thread.filter((m) => rowKey(m) !== open);
  const shown = thread.find((m) => rowKey(m) === open) ?? message;
  return (
    <section className="reading-pane" aria-label="Reading pane" data-testid="reading-pane">
      <button type="button" className="button back-to-list" data-testid="reading-close" onClick={onClose}>
        ← Back to the list
      </button>
      {others.length > 0 && (
        <details className="conversation" data-testid="conversation">
          <summary>{thread.length} messages in this conversation</summary>
          <ul>
            {thread.map((m) => (
              <li key={rowKey(m)}>
                <button
                  type="button"
                  className="conversation-item"
                  aria-current={rowKey(m) === open}
                  data-testid="conversation-item"
                  onClick={() => { setOpen(rowKey(m)); }}
                >
                  <strong>{person(m.fromName, m.fromAddress)}</strong>{" "}
                  <span className="muted">{shortDate(m.receivedAt)}</span>
                  <span className="conversation-snippet"><Highlighted segments={m.snippet} /></span>
                </button>
              </li>
            ))}
          </ul>
        </details>
      )}
      <MessageBody key={rowKey(shown)} message={shown} accounts={accounts} />
    </section>
  );
}
