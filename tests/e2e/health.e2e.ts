// Keeping connections alive, in the real session: the notification server (dunst) and a
// tray host on the bus see what a desktop would. Grants are revoked in the sandbox, as a
// user would on their account page; "Sync now" from the tray makes Ferry look at once.
//
// The tests run in order and build on each other's accounts.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ADA, GRACE, KATHERINE, addAccount, healthOf, row } from "./accounts";
import {
  browseAs,
  byTestId,
  ferryPids,
  forgetAccounts,
  launchReady,
  notificationsDisplayed,
  NotificationWatch,
  quit,
  revokeAtProvider,
  sandbox,
  screenshot,
  screenshotScreen,
  spawnFerry,
  waitUntil,
  type Browser,
} from "./ferry";
import { TrayHost, type TrayItem } from "./trayhost";


let host: TrayHost;
let watch: NotificationWatch;
let browser: Browser | undefined;

beforeAll(async () => {
  // Start from an empty screen: other test files may have left notifications up.
  execFileSync("dunstctl", ["close-all"]);
  host = await TrayHost.start();
  watch = await NotificationWatch.start();
});

afterEach(async () => {
  await quit(browser);
  browser = undefined;
});

afterAll(() => {
  host.stop();
  watch.stop();
  forgetAccounts();
});

async function start(): Promise<Browser> {
  browser = await launchReady();
  return browser;
}

/** The picture the tray shows (appindicator writes each icon to a file). */
async function trayPicture(item: TrayItem): Promise<string> {
  return readFileSync(String(await host.itemProperty(item, "IconName"))).toString("base64");
}

async function labels(item: TrayItem): Promise<string[]> {
  return (await host.menu(item)).filter((e) => e.type !== "separator").map((e) => e.label);
}

async function clickTray(item: TrayItem, label: string): Promise<void> {
  const entry = (await host.menu(item)).find((e) => e.label === label);
  if (entry === undefined) throw new Error(`no tray entry "${label}" in ${JSON.stringify(await labels(item))}`);
  await host.click(item, entry.id);
}

async function refreshCalls(service: string): Promise<{ status: number }[]> {
  const log = await sandbox<{ service: string; path: string; status: number; grant_type?: string | null }[]>("/requests");
  return log.filter((r) => r.service === service && r.path.endsWith("/token") && r.grant_type === "refresh_token");
}

describe("A Microsoft rotation and a crash", () => {
  it("survives Ferry dying right after the token response: restart, still connected, no sign-in", async () => {
    const b = await start();
    await addAccount(b, "microsoft", KATHERINE);
    await quit(b);
    browser = undefined;

    // Ferry in the tray, set to abort (as kill -9 would) right after a token response.
    const before = (await refreshCalls("microsoft")).length;
    const doomed = spawnFerry(["--hidden"], { FERRY_FAILPOINT: "after-token-response" });
    const died = new Promise<string | null>((resolve) => doomed.once("exit", (_code, signal) => { resolve(signal); }));
    const item = await host.waitForItem();
    await clickTray(item, "Sync now");
    expect(await died).toBe("SIGABRT");
    const calls = await refreshCalls("microsoft");
    expect(calls.length).toBe(before + 1);
    expect(calls.at(-1)?.status, "Microsoft answered with new tokens").toBe(200);

    // Back up: the account works without signing in again.
    const again = await start();
    expect(await healthOf(again, KATHERINE.email)).toBe("healthy");
    await clickTray(await host.waitForItem(), "Sync now");
    await waitUntil(async () => (await refreshCalls("microsoft")).length === before + 2, 15_000);
    expect((await refreshCalls("microsoft")).at(-1)?.status).toBe(200);
    await sleep(500);
    expect(await healthOf(again, KATHERINE.email)).toBe("healthy");
  });
});

describe("A revoked grant", () => {
  it("needs sign-in: one notification, the tray asks for Reconnect, and both clear after reconnecting", async () => {
    const b = await start();
    await addAccount(b, "google", ADA);
    const item = await host.waitForItem();
    expect(await labels(item)).toEqual(["Sync now", "Open Ferry", "Quit Ferry"]);
    const calmIcon = await trayPicture(item);
    const seenBefore = watch.shown.length;

    await revokeAtProvider(ADA.email);
    await clickTray(item, "Sync now");
    await waitUntil(async () => (await healthOf(b, ADA.email)) === "needsSignIn", 15_000);
    expect(await row(b, ADA.email).getText()).toContain("Needs sign-in");

    await waitUntil(() => watch.shown.length > seenBefore, 10_000);
    expect(watch.shown.slice(seenBefore), "exactly one notification").toEqual([
      "ada@example.com needs you to sign in again",
    ]);
    await waitUntil(() => notificationsDisplayed() === 1, 5_000);
    screenshotScreen("notification");
    await waitUntil(async () => (await labels(item)).includes(`Reconnect ${ADA.email}`), 10_000);
    expect(await labels(item)).toEqual([`Reconnect ${ADA.email}`, "Sync now", "Open Ferry", "Quit Ferry"]);
    expect(await trayPicture(item), "the icon shows attention").not.toBe(calmIcon);
    await screenshot(b, "accounts-needs-sign-in");

    // Looking again announces nothing new.
    await clickTray(item, "Sync now");
    await sleep(2_000);
    expect(watch.shown.length - seenBefore).toBe(1);

    // Reconnect from the tray opens the sign-in for that account.
    const closedBefore = watch.closed;
    browseAs(ADA);
    await clickTray(item, `Reconnect ${ADA.email}`);
    const dialog = byTestId(b, "add-account-dialog");
    await dialog.waitForDisplayed({ timeout: 10_000 });
    expect(await dialog.getText()).toContain(`Reconnect ${ADA.email}`);
    await byTestId(b, "sign-in-continue").click();
    await waitUntil(async () => (await healthOf(b, ADA.email)) === "healthy", 15_000);
    await waitUntil(() => notificationsDisplayed() === 0, 10_000);
    expect(notificationsDisplayed(), "the notification was withdrawn").toBe(0);
    // The bus monitor's line may still be on its way to this process.
    await waitUntil(() => watch.closed > closedBefore, 5_000);
    expect(watch.closed, "Ferry closed it").toBeGreaterThan(closedBefore);
    await waitUntil(async () => !(await labels(item)).some((l) => l.startsWith("Reconnect")), 10_000);
    expect(await trayPicture(item), "the calm icon is back").toBe(calmIcon);
  });

  it("three accounts revoked together make one notification", async () => {
    const b = await start();
    await addAccount(b, "google", GRACE);
    const item = await host.waitForItem();
    const seenBefore = watch.shown.length;
    for (const person of [ADA, GRACE, KATHERINE]) await revokeAtProvider(person.email);
    await clickTray(item, "Sync now");
    for (const person of [ADA, GRACE, KATHERINE]) {
      await waitUntil(async () => (await healthOf(b, person.email)) === "needsSignIn", 15_000);
    }
    await waitUntil(() => watch.shown.length > seenBefore, 10_000);
    await sleep(2_000);
    expect(watch.shown.slice(seenBefore), "one notification for all three").toEqual([
      "3 accounts need you to sign in again",
    ]);
    screenshotScreen("notification-three");
    const menu = await labels(item);
    for (const person of [ADA, GRACE, KATHERINE]) expect(menu).toContain(`Reconnect ${person.email}`);
    expect(ferryPids().length).toBe(1);
  });

  it("is not announced again after a restart", async () => {
    const seenBefore = watch.shown.length;
    const b = await start();
    await waitUntil(async () => (await healthOf(b, ADA.email)) === "needsSignIn", 10_000);
    await sleep(2_500);
    expect(watch.shown.slice(seenBefore)).toEqual([]);
  });
});

describe("A resume from suspend", () => {
  it("makes Ferry look at every connection at once", async () => {
    const b = await start();
    // Ada signs in again, then loses access while the machine sleeps.
    browseAs(ADA);
    await row(b, ADA.email).$('[data-testid="account-reconnect-row"]').click();
    await byTestId(b, "sign-in-continue").click();
    await waitUntil(async () => (await healthOf(b, ADA.email)) === "healthy", 15_000);
    await revokeAtProvider(ADA.email);
    await sleep(500);
    expect(await healthOf(b, ADA.email), "nothing has looked yet").toBe("healthy");

    // logind announces the resume on the system bus.
    execFileSync("gdbus", [
      "emit", "--system", "--object-path", "/org/freedesktop/login1",
      "--signal", "org.freedesktop.login1.Manager.PrepareForSleep", "false",
    ]);
    await waitUntil(async () => (await healthOf(b, ADA.email)) === "needsSignIn", 10_000);
    expect(await healthOf(b, ADA.email)).toBe("needsSignIn");
  });
});
