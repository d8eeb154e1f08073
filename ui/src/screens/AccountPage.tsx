import { useEffect, useRef, useState } from "react";
import { AlertDialog } from "radix-ui";
import {
  call,
  useApi,
  type AccountView,
  type AppError,
  type ServiceChoice,
  type ServiceView,
  type TimelineEntry,
} from "../api";
import { HealthBadge } from "../components/HealthBadge";
import { SyncLog } from "../components/SyncLog";
import { Avatar, displayName } from "../components/AccountRow";
import type { Reconnect } from "../components/AddAccountDialog";
import {
  PROVIDER_NAMES,
  SERVICE_NAMES,
  SERVICE_STATE_LABELS,
  serviceState,
  timeAgo,
} from "../components/providers";

interface Props {
  account: AccountView;
  onBack: () => void;
  /** Opens the sign-in dialog to reconnect, or to grant the services given. */
  onReconnect: (reconnect: Reconnect) => void;
}

/** What the account has asked for, as a choice the sign-in dialog understands. */
export function requestedServices(account: AccountView): ServiceChoice {
  const find = (name: ServiceView["service"]) => account.services.find((s) => s.service === name);
  const calendar = find("calendar");
  return {
    mail: find("mail")?.requested ?? false,
    calendar: calendar?.requested === true ? calendar.access : null,
    contacts: find("contacts")?.requested ?? false,
  };
}

function withService(choice: ServiceChoice, service: ServiceView["service"], on: boolean): ServiceChoice {
  switch (service) {
    case "mail":
      return { ...choice, mail: on };
    case "calendar":
      return { ...choice, calendar: on ? (choice.calendar ?? "read") : null };
    case "contacts":
      return { ...choice, contacts: on };
  }
}

/** One account: its services and their status, Reconnect, and Remove. */
export function AccountPage({ account, onBack, onReconnect }: Props) {
  const api = useApi();
  const [error, setError] = useState<AppError | null>(null);
  const [removing, setRemoving] = useState(false);
  const [timeline, setTimeline] = useState<TimelineEntry[] | null>(null);
  const [exported, setExported] = useState<string | null>(null);
  const title = useRef<HTMLHeadingElement>(null);

  // Opening the page moves focus to its heading, so a screen reader announces it and Tab
  // continues from the top of the page.
  useEffect(() => {
    title.current?.focus();
  }, [account.id]);

  // The timeline reloads whenever the account changes (a refresh, a failure).
  useEffect(() => {
    let current = true;
    void call(() => api.accountTimeline(account.id)).then((result) => {
      if (current && result.status === "ok") setTimeline(result.data);
    });
    return () => {
      current = false;
    };
  }, [api, account]);

  const setPaused = async (paused: boolean) => {
    const result = await call(() => api.setPaused(account.id, paused));
    setError(result.status === "error" ? result.error : null);
  };

  const exportTimeline = async () => {
    const result = await call(() => api.exportTimeline(account.id));
    if (result.status === "ok") {
      setExported(result.data);
    } else {
      setError(result.error);
    }
  };
  const provider = PROVIDER_NAMES[account.provider];
  const requested = requestedServices(account);

  const reconnect = (services: ServiceChoice) => {
    onReconnect({ accountId: account.id, email: account.email, provider: account.provider, services });
  };

  const turnOff = async (service: ServiceView["service"]) => {
    const result = await call(() => api.setServices(account.id, withService(requested, service, false)));
    setError(result.status === "error" ? result.error : null);
  };

  const remove = async () => {
    setRemoving(true);
    const result = await call(() => api.removeAccount(account.id));
    setRemoving(false);
    if (result.status === "ok") {
      onBack();
    } else {
      setError(result.error);
    }
  };

  return (
    <section className="account-page" data-testid="account-page" aria-labelledby="account-title">
      <button type="button" className="button link" data-testid="account-back" onClick={onBack}>
        ← All accounts
      </button>
      <header className="account-page-header">
        <Avatar account={account} />
        <div className="account-text">
          <h1 id="account-title" ref={title} tabIndex={-1}>
            {displayName(account)}
          </h1>
          <span className="muted">
            {account.email} · {provider}
          </span>
          <span className="muted small">
            Added {new Date(account.addedAt).toLocaleDateString()}
            {account.lastActivityAt !== null && ` · active ${timeAgo(account.lastActivityAt)}`}
          </span>
        </div>
      </header>

      {error !== null && (
        <div className="panel error" role="alert" data-testid="account-error">
          {error.message}
        </div>
      )}

      <section className="health-panel" data-testid="account-health" aria-labelledby="health-title">
        <div className="section-header">
          <h2 id="health-title">Connection</h2>
          <span className="header-actions">
            <HealthBadge health={account.health} />
            <button
              type="button"
              className="button"
              data-testid="account-pause"
              onClick={() => void setPaused(account.health.state !== "paused")}
            >
              {account.health.state === "paused" ? "Resume" : "Pause"}
            </button>
          </span>
        </div>
        {account.health.state === "paused" && (
          <p className="muted small">
            Paused: Ferry does not renew this account's access or tell you about it until you
            resume.
          </p>
        )}
        {account.health.help !== null && account.health.state !== "healthy" && (
          <div className={`panel ${account.health.state === "needsSignIn" ? "error" : "info"}`}>
            <p>
              <strong>{account.health.help.summary}.</strong> {account.health.help.fix}
            </p>
            {account.health.code !== null && (
              <p className="muted small">
                {provider} said: <code>{account.health.code}</code>
              </p>
            )}
          </div>
        )}
        <p className="muted small">
          {account.health.lastRefreshAt !== null
            ? `Access last renewed ${timeAgo(account.health.lastRefreshAt)}.`
            : "Access not renewed yet."}
          {account.health.nextTryAt !== null &&
            ` Next try at ${new Date(account.health.nextTryAt).toLocaleTimeString()}.`}
        </p>
      </section>

      <h2>Services</h2>
      <ul className="service-list">
        {account.services.map((service) => {
          const state = serviceState(service);
          return (
            <li key={service.service} className="service-row" data-testid={`service-${service.service}`} data-state={state}>
              <span>
                <strong>{SERVICE_NAMES[service.service]}</strong>
                {service.service === "calendar" && state !== "off" && (
                  <span className="muted small">
                    {" "}
                    ({service.access === "readWrite" ? "see and edit events" : "see events"})
                  </span>
                )}
              </span>
              <span className={`status status-${state}`}>{SERVICE_STATE_LABELS[state]}</span>
              {state === "notGranted" && (
                <button
                  type="button"
                  className="button"
                  data-testid={`grant-${service.service}`}
                  title={`Sign in again and allow ${SERVICE_NAMES[service.service]} on ${provider}'s page`}
                  onClick={() => { reconnect(requested); }}
                >
                  Grant access
                </button>
              )}
              {state === "off" && (
                <button
                  type="button"
                  className="button"
                  data-testid={`add-${service.service}`}
                  onClick={() => { reconnect(withService(requested, service.service, true)); }}
                >
                  Turn on
                </button>
              )}
              {state === "on" && (
                <button
                  type="button"
                  className="button"
                  data-testid={`off-${service.service}`}
                  onClick={() => void turnOff(service.service)}
                >
                  Turn off
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {account.services.some((s) => serviceState(s) === "notGranted") && (
        <p className="muted small">
          “Not granted” means the box for that service was not ticked on {provider}’s page.
          Grant access signs you in again so you can allow it.
        </p>
      )}

      <section aria-labelledby="timeline-title">
        <div className="section-header">
          <h2 id="timeline-title">What happened</h2>
          <button type="button" className="button" data-testid="timeline-export" onClick={() => void exportTimeline()}>
            Export as JSON
          </button>
        </div>
        {exported !== null && (
          <p className="muted small" role="status">
            Saved to <code>{exported}</code>
          </p>
        )}
        {timeline === null ? (
          <p className="muted">Loading…</p>
        ) : timeline.length === 0 ? (
          <p className="muted">Nothing yet.</p>
        ) : (
          <ol className="timeline" data-testid="timeline" reversed>
            {[...timeline].reverse().map((entry, index) => (
              <li key={`${entry.at}-${String(index)}`} data-kind={entry.kind}>
                <time dateTime={entry.at}>{new Date(entry.at).toLocaleString()}</time>
                <span>
                  {entry.detail} {entry.code !== null && <code>{entry.code}</code>}
                </span>
              </li>
            ))}
          </ol>
        )}
      </section>
      <SyncLog accountId={account.id} generation={account} />

      <div className="account-actions">
        <button
          type="button"
          className="button"
          data-testid="account-reconnect"
          onClick={() => { reconnect(requested); }}
        >
          Reconnect
        </button>
        <AlertDialog.Root>
          <AlertDialog.Trigger asChild>
            <button type="button" className="button danger" data-testid="account-remove" disabled={removing}>
              {removing ? "Removing…" : "Remove account"}
            </button>
          </AlertDialog.Trigger>
          <AlertDialog.Portal>
            <AlertDialog.Overlay className="dialog-overlay" />
            <AlertDialog.Content className="dialog" data-testid="remove-confirm">
              <AlertDialog.Title>Remove {account.email}?</AlertDialog.Title>
              <AlertDialog.Description>
                Ferry will delete this account’s saved sign-in and everything it keeps for it
                on this computer.{" "}
                {account.provider === "google"
                  ? "Ferry’s access to your Google account will be withdrawn."
                  : "Microsoft does not let apps withdraw their own access; Ferry will tell you where to do it."}{" "}
                Your mail, events and contacts at {provider} are not touched.
              </AlertDialog.Description>
              <div className="dialog-actions">
                <AlertDialog.Cancel asChild>
                  <button type="button" className="button" data-testid="remove-cancel">
                    Keep account
                  </button>
                </AlertDialog.Cancel>
                <AlertDialog.Action asChild>
                  <button type="button" className="button danger" data-testid="remove-confirm-button" onClick={() => void remove()}>
                    Remove
                  </button>
                </AlertDialog.Action>
              </div>
            </AlertDialog.Content>
          </AlertDialog.Portal>
        </AlertDialog.Root>
      </div>
    </section>
  );
}
