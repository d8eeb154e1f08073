// The inbox's list: only the rows in view are in the document, so a mailbox of any size
// scrolls smoothly. A listbox: arrow keys or j/k move, Enter opens (the screen handles
// the keys; the list follows the selection).
import { useEffect, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { AccountView, MessageSummary, Segment } from "../api";
import { accountColor, accountLabel, person, shortDate } from "./mailFormat";

/** Every row is this tall, so the list never measures. */
export const ROW_HEIGHT = 84;

export function rowKey(m: { accountId: string; id: string }): string {
  return `${m.accountId}\u0000${m.id}`;
}

export function Highlighted({ segments }: { segments: Segment[] }) {
  return (
    <>
      {segments.map((s, i) => (s.hit ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>))}
    </>
  );
}

/** Drawn, not an emoji: not every system has an emoji font. */
function PaperClip() {
  return (
    <svg aria-hidden="true" width="12" height="12" viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.6">
      <path d="M10.5 4.5 5.2 9.8a1.6 1.6 0 0 0 2.3 2.3l5.6-5.6a3 3 0 0 0-4.3-4.3L3.3 7.7a4.4 4.4 0 0 0 6.2 6.2l4-4" />
    </svg>
  );
}

interface Props {
  messages: MessageSummary[];
  accounts: AccountView[];
  selected: string | null;
  /** More rows exist beyond the loaded ones. */
  more: boolean;
  onSelect: (key: string) => void;
  onOpen: (key: string) => void;
  /** Asks for the next page; called as the end comes into view. */
  onNeedMore: () => void;
  label: string;
}

export function MessageList({ messages, accounts, selected, more, onSelect, onOpen, onNeedMore, label }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  // The virtualizer hands out fresh values each render, which the compiler cannot memoise;
  // this component is not memoised, so nothing goes stale.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: messages.length + (more ? 1 : 0),
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 6,
  });
  const items = virtualizer.getVirtualItems();
  const lastShown = items.at(-1)?.index ?? -1;

  useEffect(() => {
    if (more && lastShown >= messages.length - 5) onNeedMore();
  }, [more, lastShown, messages.length, onNeedMore]);

  const selectedIndex = messages.findIndex((m) => rowKey(m) === selected);
  useEffect(() => {
    if (selectedIndex >= 0) virtualizer.scrollToIndex(selectedIndex, { align: "auto" });
  }, [selectedIndex, virtualizer]);

  return (
    <div
      ref={scroller}
      className="message-list"
      role="listbox"
      tabIndex={0}
      aria-label={label}
      aria-activedescendant={selectedIndex >= 0 ? `row-${String(selectedIndex)}` : undefined}
      data-testid="message-list"
    >
      <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
        {items.map((item) => {
          const m = messages.at(item.index);
          const style = { position: "absolute" as const, top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${String(item.start)}px)` };
          if (m === undefined) {
            return (
              <div key="more" style={style} className="message-row loading-more" aria-hidden="true">
                Loading more…
              </div>
            );
          }
          const key = rowKey(m);
          const holders = [m.accountId, ...m.alsoIn.map((c) => c.accountId)];
          return (
            <div
              key={key}
              id={`row-${String(item.index)}`}
              role="option"
              aria-selected={key === selected}
              className={`message-row${m.unread ? " unread" : ""}${key === selected ? " selected" : ""}`}
              style={{ ...style, borderLeftColor: accountColor(accounts, m.accountId) }}
              data-testid="message-row"
              data-account-id={m.accountId}
              onClick={() => { onSelect(key); }}
              onDoubleClick={() => { onOpen(key); }}
            >
              <div className="row-top">
                <span className="row-from">{person(m.fromName, m.fromAddress)}</span>
                {m.threadSize > 1 && <span className="row-count" aria-label={`${String(m.threadSize)} messages`}>{m.threadSize}</span>}
                {m.hasAttachments && (
                  <span className="row-flag" title="Has attachments">
                    <PaperClip />
                    <span className="visually-hidden">Has attachments</span>
                  </span>
                )}
                {m.starred && (
                  <span className="row-flag" title="Starred">
                    <span aria-hidden="true">★</span>
                    <span className="visually-hidden">Starred</span>
                  </span>
                )}
                <time className="row-date" dateTime={m.receivedAt}>{shortDate(m.receivedAt)}</time>
              </div>
              <div className="row-subject">
                {m.unread && <span className="visually-hidden">Unread. </span>}
                {m.unreadable ? <em>Could not be read; kept as received</em> : <Highlighted segments={m.subject} />}
              </div>
              <div className="row-bottom">
                <span className="row-snippet"><Highlighted segments={m.snippet} /></span>
                <span className="row-accounts">
                  {holders.map((id) => (
                    <span key={id} className="account-chip" title={accountLabel(accounts, id)}>
                      <span className="dot" style={{ background: accountColor(accounts, id) }} aria-hidden="true" />
                      <span className="visually-hidden">{accountLabel(accounts, id)}</span>
                    </span>
                  ))}
                </span>
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
