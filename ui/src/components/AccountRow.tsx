import type { AccountView } from "../api";

const PROVIDER_NAMES: Record<AccountView["provider"], string> = {
  google: "Google",
  microsoft: "Microsoft",
};

/** Up to two initials from the display name, or the email's first letter. */
export function initials(account: Pick<AccountView, "displayName" | "email">): string {
  const words = account.displayName.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 0 ? words.slice(0, 2).map((w) => w[0] ?? "") : [account.email[0] ?? "?"];
  return letters.join("").toUpperCase();
}

export function AccountRow({ account }: { account: AccountView }) {
  const name = account.displayName.trim() === "" ? account.email : account.displayName;
  return (
    <li className="account-row" data-testid="account-row">
      <span className="avatar" aria-hidden="true">
        {initials(account)}
      </span>
      <span className="account-text">
        <span className="account-name">{name}</span>
        <span className="muted">
          {account.email} · {PROVIDER_NAMES[account.provider]}
        </span>
      </span>
    </li>
  );
}
