// The real Ferry window, driven over WebDriver in the headless test session.
import { afterEach, describe, expect, it } from "vitest";
import { byTestId, launch, quit, logText, runSecondInstance, screenshot, type Browser } from "./ferry";

let browser: Browser | undefined;

afterEach(async () => {
  await quit(browser);
  browser = undefined;
});

describe("Ferry's window", () => {
  it("starts on the Accounts screen in its empty state", async () => {
    browser = await launch();
    const empty = byTestId(browser, "accounts-empty");
    await empty.waitForDisplayed({ timeout: 20_000 });
    expect(await empty.getText()).toContain("No accounts yet");
    expect(await byTestId(browser, "add-account").isDisplayed()).toBe(true);
    expect(await byTestId(browser, "profile-badge").getText()).toBe("Test run");
    expect(await byTestId(browser, "sandbox-badge").getText(), "pointed at the sandbox").toBe("Sandbox");
    expect(await browser.getTitle()).toBe("Ferry");
    await screenshot(browser, "accounts-empty");
  });

  it("opens Add account from the keyboard and closes it with Escape", async () => {
    browser = await launch();
    await byTestId(browser, "accounts-empty").waitForDisplayed({ timeout: 20_000 });
    await browser.keys(["Control", "n"]);
    const dialog = byTestId(browser, "add-account-dialog");
    await dialog.waitForDisplayed();
    expect(await dialog.getText()).toContain("What may Ferry use from this Google account?");
    expect(await byTestId(browser, "sign-in-continue").isEnabled()).toBe(true);
    await browser.keys(["Escape"]);
    await dialog.waitForDisplayed({ reverse: true });
  });
});

describe("ferry:// links", () => {
  it("hands a link from a second launch to the running Ferry, and the second process exits", async () => {
    browser = await launch();
    await byTestId(browser, "accounts-empty").waitForDisplayed({ timeout: 20_000 });

    const second = await runSecondInstance(["ferry://oauth/microsoft?code=E2E-CODE-1&state=e2e-state"]);
    expect(second.code, second.output).toBe(0);

    const notice = byTestId(browser, "notice");
    await notice.waitForDisplayed({ timeout: 10_000 });
    expect(await notice.getText()).toContain("no sign-in is in progress");
    await screenshot(browser, "link-without-sign-in");
    const log = logText();
    expect(log).toContain("oauth callback from Microsoft: code");
    expect(log, "the code must never be logged").not.toContain("E2E-CODE-1");
  });

  it("ignores links it does not understand, and keeps running", async () => {
    browser = await launch();
    await byTestId(browser, "accounts-empty").waitForDisplayed({ timeout: 20_000 });
    for (const link of ["ferry://delete-all?x=1", "ferry:%%", "ferry://oauth/microsoft?code=a&code=b&state=s"]) {
      const second = await runSecondInstance([link]);
      expect(second.code, `${link}: ${second.output}`).toBe(0);
    }
    // Still alive and responsive, with nothing shown to the user.
    expect(await byTestId(browser, "accounts-empty").isDisplayed()).toBe(true);
    expect(await byTestId(browser, "notice").isExisting()).toBe(false);
    const log = logText();
    expect(log).toContain('ignored deep link reason=Ferry does not know the link route "delete-all"');
    expect(log).toContain("ignored deep link reason=the sign-in response repeats the code parameter");
  });

  it("receives a link that starts Ferry (cold start)", async () => {
    browser = await launch(["ferry://oauth/microsoft?code=COLD-CODE&state=s"]);
    const notice = byTestId(browser, "notice");
    await notice.waitForDisplayed({ timeout: 20_000 });
    expect(await notice.getText()).toContain("no sign-in is in progress");
    expect(logText()).not.toContain("COLD-CODE");
  });

  it("a plain second launch exits and leaves one Ferry running", async () => {
    browser = await launch();
    await byTestId(browser, "accounts-empty").waitForDisplayed({ timeout: 20_000 });
    const second = await runSecondInstance([]);
    expect(second.code, second.output).toBe(0);
    expect(await byTestId(browser, "accounts-empty").isDisplayed()).toBe(true);
  });
});
