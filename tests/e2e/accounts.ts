// Driving the Accounts screen: Add account, rows, and what they show.
import { expect } from "vitest";
import { browseAs, browserLink, byTestId, runSecondInstance, type Browser, type Person } from "./ferry";

/** The sandbox's Google demo person, whom most tests sign in as. */
export const ADA: Person = { email: "ada@example.com", password: "ada" };
/** A second Google person, and the sandbox's Microsoft work account. */
export const GRACE: Person = { email: "grace@example.org", password: "grace" };
export const KATHERINE: Person = { email: "katherine@contoso.example", password: "katherine" };

/** Opens Add account and chooses the provider and services (true = ticked). */
export async function chooseInDialog(
  b: Browser,
  provider: "google" | "microsoft",
  services: { mail: boolean; calendar: boolean; contacts: boolean },
): Promise<void> {
  await byTestId(b, "add-account").click();
  await byTestId(b, "add-account-dialog").waitForDisplayed();
  await byTestId(b, `provider-${provider}`).click();
  for (const [name, wanted] of Object.entries(services)) {
    const box = byTestId(b, `service-${name}`);
    if ((await box.isSelected()) !== wanted) await box.click();
  }
}

/** Notes, in the page, when the row for `email` first appears. */
export async function watchForRow(b: Browser, email: string): Promise<void> {
  await b.execute((wanted: string) => {
    const w = window as unknown as { __rowShownAt?: number };
    delete w.__rowShownAt;
    const seen = () => document.querySelector(`[data-testid="account-row"][data-email="${wanted}"]`) !== null;
    const observer = new MutationObserver(() => {
      if (seen()) {
        w.__rowShownAt = Date.now();
        observer.disconnect();
      }
    });
    observer.observe(document.body, { childList: true, subtree: true });
  }, email);
}

export async function rowShownAt(b: Browser): Promise<number> {
  return b.execute(() => (window as unknown as { __rowShownAt?: number }).__rowShownAt ?? 0);
}

export function row(b: Browser, email: string) {
  return b.$(`[data-testid="account-row"][data-email="${email}"]`);
}

export async function chips(b: Browser, email: string): Promise<string[]> {
  return b.execute(
    (wanted: string) =>
      Array.from(document.querySelectorAll(`[data-testid="account-row"][data-email="${wanted}"] .chip`)).map(
        (chip) => chip.textContent,
      ),
    email,
  );
}


/**
 * Adds an account through the dialog as `person`, delivering Microsoft's ferry:// link
 * through a second Ferry as the OS would, and waits for its row.
 */
export async function addAccount(
  b: Browser,
  provider: "google" | "microsoft",
  person: Person,
  services = { mail: true, calendar: true, contacts: false },
): Promise<void> {
  browseAs(person);
  await chooseInDialog(b, provider, services);
  await byTestId(b, "sign-in-continue").click();
  if (provider === "microsoft") {
    expect((await runSecondInstance([await browserLink()])).code).toBe(0);
  }
  await row(b, person.email).waitForDisplayed({ timeout: 20_000 });
  await byTestId(b, "add-account-dialog").waitForDisplayed({ reverse: true });
}

/** The health state a row shows (`healthy`, `needsSignIn`, ...). */
export async function healthOf(b: Browser, email: string): Promise<string> {
  return (await row(b, email).$('[data-testid="health"]').getAttribute("data-state")) ?? "";
}
