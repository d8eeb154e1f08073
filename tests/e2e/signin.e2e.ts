// Add account in the real window, against the provider sandbox. The "web browser" that
// xdg-open starts is a scripted person (ferry-sandbox-browser): it signs in and consents
// on the sandbox's pages, then loads Ferry's loopback page (Google) or leaves the
// ferry:// link for the test to deliver by launching a second Ferry (Microsoft).
//
// The tests run in order and build on each other's accounts, as a user's day would.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  browseAs,
  browserLink,
  browserVisits,
  byTestId,
  databaseBytes,
  forgetAccounts,
  keychainItems,
  launchReady,
  logText,
  quit,
  runSecondInstance,
  sandbox,
  screenshot,
  SHOTS_DIR,
  sql,
  tracedIpc,
  traceIpc,
  waitUntil,
  type Browser,
} from "./ferry";
import { ADA, GRACE, KATHERINE, chips, chooseInDialog, row, rowShownAt, watchForRow } from "./accounts";

const CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts.readonly";

let browser: Browser | undefined;
/** Every message the backend sent any window during this file's run. */
const ipc: string[] = [];
/** The Microsoft sign-in's ferry:// link, replayed later. */
let microsoftLink = "";
const metrics: Record<string, number> = {};

async function start(): Promise<Browser> {
  browser = await launchReady();
  await traceIpc(browser);
  return browser;
}

afterEach(async () => {
  if (browser !== undefined) ipc.push(...(await tracedIpc(browser).catch(() => [])));
  await quit(browser);
  browser = undefined;
});

afterAll(() => {
  mkdirSync(SHOTS_DIR, { recursive: true });
  writeFileSync(join(SHOTS_DIR, "sign-in-metrics.json"), JSON.stringify(metrics, null, 2));
  // Leave the next test file an empty Ferry.
  forgetAccounts();
});

describe("Add account", () => {
  it("adds a Google account with Mail and Calendar through the loopback listener", async () => {
    const b = await start();
    browseAs(ADA);
    await chooseInDialog(b, "google", { mail: true, calendar: true, contacts: false });
    await screenshot(b, "add-account-dialog");
    await watchForRow(b, ADA.email);
    await byTestId(b, "sign-in-continue").click();

    await row(b, ADA.email).waitForDisplayed({ timeout: 20_000 });
    await byTestId(b, "add-account-dialog").waitForDisplayed({ reverse: true });
    expect(await chips(b, ADA.email)).toEqual(["Mail", "Calendar"]);
    expect(await row(b, ADA.email).getText()).toContain("ada@example.com · Google");

    // From the browser loading Ferry's loopback page to the row on screen.
    const visit = browserVisits().at(-1)?.visit;
    expect(visit?.outcome, JSON.stringify(visit)).toBe("loaded");
    expect(visit?.status).toBe(200);
    expect(visit?.to).toMatch(/^http:\/\/127\.0\.0\.1\/oauth\/google$/);
    const shown = await rowShownAt(b);
    metrics.googleCallbackToShownMs = shown - (visit?.sent_at_ms ?? 0);
    console.info(`Google: callback sent to the row shown: ${metrics.googleCallbackToShownMs} ms`);
    expect(shown).toBeGreaterThan(0);
  });

  it("adds a Microsoft account with all three services; its ferry:// link comes through a second Ferry", async () => {
    const b = await start();
    browseAs(KATHERINE);
    await chooseInDialog(b, "microsoft", { mail: true, calendar: true, contacts: true });
    await watchForRow(b, KATHERINE.email);
    await byTestId(b, "sign-in-continue").click();
    await byTestId(b, "sign-in-waiting").waitForDisplayed();

    microsoftLink = await browserLink();
    expect(microsoftLink).toMatch(/^ferry:\/\/oauth\/microsoft\?/);
    const launchedAt = Date.now();
    const second = await runSecondInstance([microsoftLink]);
    expect(second.code, second.output).toBe(0);

    await row(b, KATHERINE.email).waitForDisplayed({ timeout: 20_000 });
    expect(await chips(b, KATHERINE.email)).toEqual(["Mail", "Calendar", "Contacts"]);
    metrics.microsoftLinkLaunchToShownMs = (await rowShownAt(b)) - launchedAt;
    console.info(`Microsoft: second Ferry launched to the row shown: ${metrics.microsoftLinkLaunchToShownMs} ms`);
    await screenshot(b, "accounts-list");
  });

  it("shows a service the user unticked at Google as Not granted, with a way to grant it", async () => {
    const b = await start();
    browseAs({ ...GRACE, untick: [CONTACTS_SCOPE] });
    await chooseInDialog(b, "google", { mail: true, calendar: true, contacts: true });
    await byTestId(b, "sign-in-continue").click();
    await row(b, GRACE.email).waitForDisplayed({ timeout: 20_000 });
    expect(await chips(b, GRACE.email)).toEqual(["Mail", "Calendar", "Contacts: Not granted"]);

    await row(b, GRACE.email).$('[data-testid="account-open"]').click();
    const contacts = byTestId(b, "service-contacts");
    await contacts.waitForDisplayed();
    expect(await contacts.getAttribute("data-state")).toBe("notGranted");
    expect(await byTestId(b, "grant-contacts").isDisplayed()).toBe(true);
    await screenshot(b, "account-page");
  });
});

describe("Sign-in failures store nothing and say why", () => {
  it("a denial at the provider", async () => {
    const b = await start();
    browseAs({ ...ADA, allow: false });
    await chooseInDialog(b, "google", { mail: true, calendar: false, contacts: false });
    await byTestId(b, "sign-in-continue").click();
    const error = byTestId(b, "sign-in-error");
    await error.waitForDisplayed({ timeout: 20_000 });
    expect(await error.getText()).toContain("You declined access");
    await screenshot(b, "sign-in-denied");
    expect(sql("SELECT COUNT(*) FROM accounts")).toBe("3");
  });

  it("a tampered state is reported, and the sign-in keeps waiting for its own", async () => {
    const b = await start();
    browseAs({ ...KATHERINE, tamper_state: true });
    await chooseInDialog(b, "microsoft", { mail: true, calendar: false, contacts: false });
    await byTestId(b, "sign-in-continue").click();
    const link = await browserLink();
    expect((await runSecondInstance([link])).code).toBe(0);
    // Any web page can open a ferry:// link: a forged one must not end the real sign-in.
    const notice = byTestId(b, "notice");
    await notice.waitForDisplayed({ timeout: 10_000 });
    expect(await notice.getText()).toContain("still waiting for your browser");
    expect(await byTestId(b, "sign-in-waiting").isDisplayed()).toBe(true);
    await screenshot(b, "sign-in-forged-response");
    await byTestId(b, "sign-in-cancel").click();
    await byTestId(b, "sign-in-continue").waitForDisplayed();
    expect(sql("SELECT COUNT(*) FROM accounts")).toBe("3");
  });

  it("a replayed callback", async () => {
    const b = await start();
    const before = sql("SELECT updated_at FROM accounts WHERE email = 'katherine@contoso.example'");
    expect((await runSecondInstance([microsoftLink])).code).toBe(0);
    const notice = byTestId(b, "notice");
    await notice.waitForDisplayed({ timeout: 10_000 });
    expect(await notice.getText()).toContain("no sign-in is in progress");
    expect(sql("SELECT updated_at FROM accounts WHERE email = 'katherine@contoso.example'")).toBe(before);
  });

  it("Cancel while the browser is out", async () => {
    const b = await start();
    browseAs({ ...ADA, abandon: true });
    await chooseInDialog(b, "google", { mail: true, calendar: false, contacts: false });
    await byTestId(b, "sign-in-continue").click();
    const waiting = byTestId(b, "sign-in-waiting");
    await waiting.waitForDisplayed();
    await screenshot(b, "sign-in-waiting");
    await byTestId(b, "sign-in-cancel").click();
    await byTestId(b, "sign-in-continue").waitForDisplayed();
    expect(logText()).toMatch(/sign-in ended provider=Google outcome="?cancelled/);
  });
});

describe("Accounts after a restart", () => {
  it("are all still there, and Remove revokes with the saved token and deletes everything", async () => {
    const b = await start();
    for (const email of [ADA.email, KATHERINE.email, GRACE.email]) {
      await row(b, email).waitForDisplayed({ timeout: 20_000 });
    }
    const adaId = sql("SELECT id FROM accounts WHERE email = 'ada@example.com'");
    await row(b, ADA.email).$('[data-testid="account-open"]').click();
    await byTestId(b, "account-remove").click();
    const confirm = byTestId(b, "remove-confirm");
    await confirm.waitForDisplayed();
    expect(await confirm.getText()).toContain("access to your Google account will be withdrawn");
    await screenshot(b, "remove-confirm");
    // The sandbox's request log is shared by every file: count only what follows.
    type Logged = { service: string; method: string; path: string; status: number };
    const googleRevokes = async () =>
      (await sandbox<Logged[]>("/requests")).filter((r) => r.service === "google" && r.path.endsWith("/revoke"));
    const earlier = (await googleRevokes()).length;
    await byTestId(b, "remove-confirm-button").click();
    await row(b, ADA.email).waitForDisplayed({ reverse: true, timeout: 10_000 });

    // The refresh token, opened with the vault key after the restart, was still good:
    // Google accepted its revocation.
    // The row goes as soon as the data is deleted; the revocation follows.
    let revokes: Logged[] = [];
    await waitUntil(async () => {
      revokes = (await googleRevokes()).slice(earlier);
      return revokes.length > 0;
    }, 10_000);
    expect(revokes.map((r) => r.status)).toEqual([200]);
    for (const table of ["accounts", "account_tokens", "account_services"]) {
      expect(sql(`SELECT COUNT(*) FROM ${table} WHERE ${table === "accounts" ? "id" : "account_id"} = '${adaId}'`)).toBe("0");
    }
    expect(sql("SELECT COUNT(*) FROM accounts")).toBe("2");
    // The keychain holds the vault key only; tokens never go there.
    expect(keychainItems()).toBe(1);
  });
});

describe("Secrets", () => {
  it("no code, token or verifier is in the database file, the logs, or the IPC traffic of the run", async () => {
    const issued = await sandbox<Record<string, string[]>>("/secrets");
    const secrets = Object.values(issued).flat();
    expect(secrets.length, "the run exchanged codes and tokens").toBeGreaterThan(10);
    expect(ipc.length, "IPC was recorded").toBeGreaterThan(20);
    const places: [string, string][] = [
      ["database", databaseBytes().toString("latin1")],
      ["logs", logText()],
      ["ipc", ipc.join("\n")],
    ];
    for (const [place, text] of places) {
      const leaked = secrets.filter((secret) => text.includes(secret));
      expect(leaked, `${place} contains secrets`).toEqual([]);
    }
  });
});
