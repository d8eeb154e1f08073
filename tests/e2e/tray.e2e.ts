// The tray icon as a desktop panel sees it: registered, with its menu, and working.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { byTestId, launch, quit, logText, type Browser } from "./ferry";
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
    expect(labels).toEqual(["Open Ferry", "Quit Ferry"]);
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
});
