// The tray icon as a desktop panel sees it: registered, with its menu, and working.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import {
  byTestId,
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
});
