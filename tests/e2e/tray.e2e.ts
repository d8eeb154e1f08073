// The tray icon as a desktop panel sees it: registered, with its menu, and working.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import {
  browseAs,
  browserLink,
  byTestId,
  DRIVER_PORT,
  ferryPids,
  ferryWindowIds,
  launch,
  logText,
  quit,
  runSecondInstance,
  spawnFerry,
  terminate,
  visibleFerryWindows,
  waitUntil,
  type Browser,
} from "./ferry";
import { TrayHost } from "./trayhost";
import { chooseInDialog, KATHERINE } from "./accounts";
import { withOwnFerry } from "./driver";

let host: TrayHost;
let browser: Browser | undefined;

beforeAll(async () => {
  host = await TrayHost.start();
});

afterAll(() => {
  host.stop();
});

afterEach(async () => {
  await quit(browser);
  browser = undefined;
});

describe("the tray", () => {
  it("registers an icon whose menu offers Open Ferry and Quit Ferry", async () => {
    browser = await launch();
    await byTestId(browser, "accounts-empty").waitForDisplayed({ timeout: 20_000 });
    const item = await host.waitForItem();
    expect(await host.itemProperty(item, "Status")).toBe("Active");
    const labels = (await host.menu(item)).filter((e) => e.type !== "separator").map((e) => e.label);
    expect(labels).toEqual(["Sync now", "Open Ferry", "Quit Ferry"]);
  });

  it("quits Ferry cleanly from its menu", async () => {
    browser = await launch();
    await byTestId(browser, "accounts-empty").waitForDisplayed({ timeout: 20_000 });
    const item = await host.waitForItem();
    const quitEntry = (await host.menu(item)).find((e) => e.label === "Quit Ferry");
    expect(quitEntry).toBeDefined();
    await host.click(item, quitEntry?.id ?? -1);

    const deadline = Date.now() + 10_000;
    while ((await host.hasOwner(item.owner)) && Date.now() < deadline) await sleep(100);
    expect(await host.hasOwner(item.owner), "Ferry left the bus").toBe(false);
    const log = logText();
    expect(log).toContain("quit chosen from the tray");
    expect(log.lastIndexOf("core stopped")).toBeGreaterThan(log.lastIndexOf("quit chosen from the tray"));
  });

  it("keeps Ferry running in the tray when the window closes, and Open Ferry brings it back", async () => {
    browser = await launch();
    await byTestId(browser, "accounts-empty").waitForDisplayed({ timeout: 20_000 });
    const item = await host.waitForItem();
    expect(visibleFerryWindows()).toBe(1);

    // The key closes the window mid-action, so WebDriver reports the window gone.
    await browser.keys(["Control", "w"]).catch(() => undefined);
    expect(await waitUntil(() => visibleFerryWindows() === 0, 10_000), "the window closed").toBe(true);
    expect(await host.hasOwner(item.owner), "Ferry is still running").toBe(true);
    expect(logText()).toContain("main window closed; Ferry keeps running in the tray");

    const paintsBefore = logText().split("first paint").length;
    const open = (await host.menu(item)).find((e) => e.label === "Open Ferry");
    await host.click(item, open?.id ?? -1);
    expect(await waitUntil(() => visibleFerryWindows() === 1, 15_000), "the window is back").toBe(true);
    expect(
      await waitUntil(() => logText().split("first paint").length > paintsBefore, 15_000),
      "the new window painted its UI",
    ).toBe(true);
  });

  it("starts hidden with --hidden, opens on a second launch, and exits cleanly on SIGTERM", async () => {
    const ferry = spawnFerry(["--hidden"]);
    try {
      const item = await host.waitForItem();
      expect(logText()).toContain("started hidden, in the tray");
      expect(visibleFerryWindows(), "no window at a hidden start").toBe(0);

      const second = await runSecondInstance([]);
      expect(second.code, second.output).toBe(0);
      expect(await waitUntil(() => visibleFerryWindows() === 1, 15_000), "a second launch shows Ferry").toBe(true);
      expect(await host.hasOwner(item.owner)).toBe(true);
    } finally {
      const code = await terminate(ferry);
      expect(code, "SIGTERM is a clean quit").toBe(0);
    }
    const log = logText();
    expect(log.lastIndexOf("core stopped")).toBeGreaterThan(log.lastIndexOf("quitting on signal signal=SIGTERM"));
  });

  it("gives a closed window's memory back by restarting in the tray, and opens from the new tray icon", async () => {
    const painted = paints();
    const first = spawnFerry([], { FERRY_SLIM_AFTER_MS: "1500" });
    const exited = new Promise<number | null>((resolve) => first.once("exit", resolve));
    let successor: number | undefined;
    try {
      const item = await host.waitForItem();
      expect(await waitUntil(() => paints() === painted + 1, 20_000), "the window painted").toBe(true);
      const [window] = ferryWindowIds();
      execFileSync("xdotool", ["windowfocus", "--sync", window ?? "", "key", "ctrl+w"]);

      expect(await exited, "the old Ferry quits cleanly").toBe(0);
      expect(logText()).toContain("restarting in the tray to give back the closed window's memory");
      const takeover = `taking over from the Ferry that restarted in the tray predecessor=${String(first.pid)} quit=true`;
      expect(await waitUntil(() => logText().includes(takeover), 20_000), logText().slice(-2000)).toBe(true);
      const log = logText();
      successor = Number(/Ferry starting .*pid=(\d+)/.exec(log.slice(log.lastIndexOf("Ferry starting")))?.[1]);
      expect(successor).not.toBe(first.pid);

      const next = await waitForNewItem(item.owner);
      const since = logText().slice(logText().lastIndexOf("Ferry starting"));
      expect(since).toContain("started hidden, in the tray");
      expect(visibleFerryWindows(), "the restarted Ferry stays in the tray").toBe(0);
      const open = (await host.menu(next)).find((e) => e.label === "Open Ferry");
      await host.click(next, open?.id ?? -1);
      expect(await waitUntil(() => visibleFerryWindows() === 1, 15_000), "Open Ferry shows the window").toBe(true);
      expect(await waitUntil(() => paints() === painted + 2, 15_000), "and its UI paints").toBe(true);
    } finally {
      first.kill("SIGTERM");
      if (successor !== undefined && !Number.isNaN(successor)) process.kill(successor, "SIGTERM");
      await waitUntil(() => ferryPids().length === 0, 10_000);
    }
  });

  it("holds the restart back while a sign-in waits for the browser", async () => {
    await withOwnFerry(DRIVER_PORT + 8, { FERRY_SLIM_AFTER_MS: "500" }, async (b) => {
      // Microsoft's answer comes back as a ferry:// link; nobody delivers it here.
      browseAs(KATHERINE);
      await chooseInDialog(b, "microsoft", { mail: true, calendar: false, contacts: false });
      await byTestId(b, "sign-in-continue").click();
      await browserLink();
      await b.keys(["Control", "w"]).catch(() => undefined);
      expect(await waitUntil(() => visibleFerryWindows() === 0, 10_000), "the window closed").toBe(true);
      const held = 'restart in the tray held back reason="a sign-in is waiting for the browser"';
      expect(await waitUntil(() => logText().includes(held), 10_000), logText().slice(-2000)).toBe(true);
      await sleep(1_500);
      expect(logText().slice(logText().lastIndexOf(held)), "no restart while it waits").not.toContain(
        "restarting in the tray",
      );
    });
  });
});

function paints(): number {
  return logText().split("first paint").length - 1;
}

async function waitForNewItem(oldOwner: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const item = await host.waitForItem().catch(() => undefined);
    if (item !== undefined && item.owner !== oldOwner && (await host.hasOwner(item.owner))) return item;
    await sleep(100);
  }
  throw new Error("no tray icon from the restarted Ferry within 20 s");
}
