// Support in the real window: Copy diagnostics puts a report on the clipboard with no
// address and no secret, and a panic inside Ferry is logged with its backtrace, shown to
// the user once, and the background work it hit starts again.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { withOwnFerry } from "./driver";
import { ADA, addAccount } from "./accounts";
import { byTestId, DRIVER_PORT, launchReady, logText, oneFerryPerTest, screenshot, waitUntil } from "./ferry";


const ferry = oneFerryPerTest();

/** The X clipboard's text, as another program pasting would get it. */
function clipboard(): string {
  return execFileSync("xclip", ["-selection", "clipboard", "-o"], { encoding: "utf8", timeout: 5_000 });
}

describe("Copy diagnostics", () => {
  it("puts versions, system and each account's health on the clipboard, without addresses", async () => {
    const b = (ferry.browser = await launchReady());
    await addAccount(b, "google", ADA);
    await byTestId(b, "open-settings").click();
    await byTestId(b, "copy-diagnostics").click();
    const status = byTestId(b, "diagnostics-status");
    await b.waitUntil(async () => (await status.getText()).startsWith("Copied"), { timeout: 10_000 });
    await screenshot(b, "settings-diagnostics");

    const copied = clipboard();
    expect(copied).toMatch(/^Ferry diagnostics, \d{4}-/);
    expect(copied).toMatch(/Ferry \d+\.\d+\.\d+ \(Test build, provider sandbox\)/);
    expect(copied).toContain("Keychain: system keychain (Secret Service)");
    expect(copied).toMatch(/1\. Google – Healthy since .*; services: mail, calendar/);
    expect(copied).toMatch(/Last \d+ log lines:/);
    expect(copied, "no address anywhere, log included").not.toContain("ada@example.com");
    expect(copied).not.toMatch(/[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]/);
    expect(await byTestId(b, "diagnostics-text").getValue()).toBe(copied);
  });
});

describe("A panic inside Ferry", () => {
  it("is logged with a backtrace, shown once, and the keeper runs again", async () => {
    // A Ferry started with the failpoint set.
    await withOwnFerry(DRIVER_PORT + 2, { FERRY_FAILPOINT: "keeper-panic" }, async (b) => {
      const notice = byTestId(b, "notice");
      await notice.waitForDisplayed({ timeout: 10_000 });
      expect(await notice.getText()).toContain("Something went wrong inside Ferry");
      const log = logText();
      expect(log).toContain("internal error (panic)");
      expect(log).toContain("keeper-panic failpoint");
      expect(log, "the backtrace names where it happened").toMatch(/ferry_core::keeper/);
      expect(log).toMatch(/stopped by a panic; restarting it actor="?keeper"?/);

      // The restarted keeper does its work: Sync now checks the account.
      await addAccount(b, "google", ADA);
      await byTestId(b, "sync-now").click();
      const progress = byTestId(b, "check-progress");
      expect(
        await waitUntil(async () => (await progress.getText()) === "Checked 1 connection.", 15_000),
        await progress.getText(),
      ).toBe(true);
    });
  });
});
