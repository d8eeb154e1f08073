import type { AccountView } from "../api";
import { HealthBadge } from "./HealthBadge";
import { PROVIDER_NAMES, SERVICE_NAMES, SERVICE_STATE_LABELS, serviceState, timeAgo } from "./providers";

/** Up to two initials from the display name, or the email's first letter. */
export function initials(account: Pick<AccountView, "displayName" | "email">): string {
  const words = account.displayName.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 0 ? words.slice(0, 2).map((w) => w[0] ?? "") : [account.email[0] ?? "?"];
  return letters.join("").toUpperCase();
}

export function displayName(account: AccountView): string {
  return account.displayName.trim() === "" ? account.email : account.displayName;
}

export function Avatar({ account }: { account: AccountView }) {
  return (
    <span className={`avatar avatar-${account.provider}`} aria-hidden="true">
      {initials(account)}
    </span>
  );
}

/** Service chips: what the account brings into Ferry, and what it was not granted. */
export function ServiceChips({ account }: { account: AccountView }) {
  const shown = account.services.filter((s) => s.requested);
  return (
    <ul className="chips" aria-label="Services">
      {shown.map((s) => {
        const state = serviceState(s);
        return (
          <li key={s.service} className={`chip chip-${state}`} data-testid={`chip-${s.service}`} data-state={state}>
            {SERVICE_NAMES[s.service]}
            {state === "notGranted" && `: ${SERVICE_STATE_LABELS.notGranted}`}
          </li>
        );
      })}
    </ul>
  );
}

export function AccountRow({
  account,
  onOpen,
  onReconnect,
}: {
  account: AccountView;
  onOpen: () => void;
  onReconnect: () => void;
}) {
  return (
    <li className="account-row" data-testid="account-row" data-email={account.email} data-account-id={account.id}>
      <Avatar account={account} />
      <span className="account-text">
        <span className="account-name">{displayName(account)}</span>
        <span className="muted">
          {account.email} · {PROVIDER_NAMES[account.provider]}
        </span>
        <ServiceChips account={account} />
      </span>
      <span className="account-side">
        <HealthBadge health={account.health} />
        {account.health.state === "needsSignIn" && (
          <button
            type="button"
            className="button primary"
            data-testid="account-reconnect-row"
            aria-label={`Reconnect ${account.email}`}
            onClick={onReconnect}
          >
            Reconnect
          </button>
        )}
        {account.lastActivityAt !== null && (
          <span className="muted small" title={new Date(account.lastActivityAt).toLocaleString()}>
            Active {timeAgo(account.lastActivityAt)}
          </span>
        )}
        <button
          type="button"
          className="button"
          data-testid="account-open"
          aria-label={`Manage ${account.email}`}
          onClick={onOpen}
        >
          Manage
        </button>
      </span>
    </li>
  );
}
