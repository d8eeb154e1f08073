// Accessibility and narrow windows in the real window: axe-core on every state reached
// (through `screenshot`), the keyboard alone adding, inspecting and removing an account,
// focus put back where the user was, text at 200%, and widths from 360 px to full screen.
import { describe, expect, it } from "vitest";
import { browseAs, byTestId, dismissNotices, DRIVER_PORT, launchReady, oneFerryPerTest, screenshot, type Browser } from "./ferry";
import { withOwnFerry } from "./driver";
import { ADA, addAccount, row } from "./accounts";

const WIDTHS = [360, 800, 1280];

const ferry = oneFerryPerTest();

async function start(): Promise<Browser> {
  return (ferry.browser = await launchReady());
}

/** The focused element's test id, or its tag and id when it has none. */
async function focused(b: Browser): Promise<string> {
  return b.execute(() => {
    const el = document.activeElement;
    if (el === null) return "none";
    return el.getAttribute("data-testid") ?? `${el.tagName.toLowerCase()}#${el.id}`;
  });
}

/**
 * Presses Tab (Shift+Tab when `back`) until the element with `testId` has focus; fails
 * after `max` presses.
 */
async function tabTo(b: Browser, testId: string, back = false, max = 40): Promise<void> {
  for (let i = 0; i < max; i += 1) {
    if ((await focused(b)) === testId) return;
    await b.keys(back ? ["Shift", "Tab"] : ["Tab"]);
  }
  throw new Error(`Tab never reached ${testId}; focus is on ${await focused(b)}`);
}

/**
 * What makes the page scroll sideways: the deepest elements reaching past the window's
 * right edge (empty when nothing does).
 */
async function sidewaysOverflow(b: Browser): Promise<string[]> {
  return b.execute(() => {
    const limit = document.documentElement.clientWidth + 1;
    if (document.documentElement.scrollWidth <= limit) return [];
    const describe = (el: Element) =>
      `${el.tagName.toLowerCase()}${el.getAttribute("data-testid") !== null ? `[${el.getAttribute("data-testid") ?? ""}]` : ""}.${Array.from(el.classList).join(".")} right=${String(Math.round(el.getBoundingClientRect().right))}`;
    const wide = Array.from(document.body.querySelectorAll("*")).filter(
      (el) => el.getBoundingClientRect().right > limit && getComputedStyle(el).position !== "fixed",
    );
    const deepest = wide.filter((el) => !wide.some((other) => other !== el && el.contains(other)));
    return [`scrollWidth ${String(document.documentElement.scrollWidth)} > ${String(limit - 1)}`, ...deepest.slice(0, 5).map(describe)];
  });
}

/**
 * Scrolls the element into view and checks that a click at its centre would reach it:
 * "" when it does, else what is in the way.
 */
async function unreachable(b: Browser, testId: string): Promise<string> {
  return b.execute((id: string) => {
    const el = document.querySelector(`[data-testid="${id}"]`);
    if (el === null) return "not on the page";
    el.scrollIntoView({ block: "center" });
    const box = el.getBoundingClientRect();
    const x = box.left + box.width / 2;
    const y = box.top + box.height / 2;
    const where = `centre (${String(Math.round(x))}, ${String(Math.round(y))}) in ${String(window.innerWidth)}x${String(window.innerHeight)}`;
    if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) return `outside the window: ${where}`;
    const hit = document.elementFromPoint(x, y);
    if (hit !== null && (hit === el || el.contains(hit))) return "";
    return `covered by ${hit === null ? "nothing" : `${hit.tagName.toLowerCase()}.${Array.from(hit.classList).join(".")}`} at ${where}`;
  }, testId);
}

describe("The keyboard alone", () => {
  it("adds an account, opens it, and removes it, with focus always somewhere sensible", async () => {
    const b = await start();
    browseAs(ADA);
    await b.keys(["Control", "n"]);
    await byTestId(b, "add-account-dialog").waitForDisplayed();
    // Google is chosen first and mail is ticked: Tab to Continue and press Enter.
    await tabTo(b, "sign-in-continue");
    await b.keys(["Enter"]);
    await row(b, ADA.email).waitForDisplayed({ timeout: 20_000 });
    await byTestId(b, "add-account-dialog").waitForDisplayed({ reverse: true });
    expect(await focused(b), "focus returns to Add account, not <body>").toBe("add-account");

    await tabTo(b, "account-open");
    await b.keys(["Enter"]);
    await byTestId(b, "account-page").waitForDisplayed();
    expect(await focused(b), "the page's heading takes focus").toBe("h1#account-title");
    await screenshot(b, "account-page-keyboard");

    await tabTo(b, "account-back", true);
    await b.keys(["Enter"]);
    await row(b, ADA.email).waitForDisplayed();
    expect(await focused(b), "back on the list, focus is on the account's row").toBe("account-open");

    await b.keys(["Enter"]);
    await byTestId(b, "account-page").waitForDisplayed();
    await tabTo(b, "account-remove");
    await b.keys(["Enter"]);
    await byTestId(b, "remove-confirm").waitForDisplayed();
    await tabTo(b, "remove-confirm-button");
    await b.keys(["Enter"]);
    await byTestId(b, "accounts-empty").waitForDisplayed({ timeout: 10_000 });
    expect(await focused(b), "with the account gone, focus is on Add account").toBe("add-account");
  });

  it("gets focus back on Settings when Settings closes", async () => {
    const b = await start();
    await tabTo(b, "open-settings");
    await b.keys(["Enter"]);
    await byTestId(b, "settings-dialog").waitForDisplayed();
    await screenshot(b, "settings-dialog");
    await b.keys(["Escape"]);
    await byTestId(b, "settings-dialog").waitForDisplayed({ reverse: true });
    expect(await focused(b)).toBe("open-settings");
  });
});

describe("Narrow windows and large text", () => {
  it("lays out every screen from 360 px to full width without sideways scrolling", async () => {
    const b = await start();
    await addAccount(b, "google", ADA);
    for (const width of WIDTHS) {
      await b.setWindowSize(width, 720);
      await b.waitUntil(async () => (await b.execute(() => window.innerWidth)) <= width, { timeout: 5_000 });
      expect(await sidewaysOverflow(b), `accounts at ${String(width)} px`).toEqual([]);
      await screenshot(b, `accounts-${String(width)}px`);

      // "… is added" sits over the row's Manage in a narrow window; the user closes it.
      await dismissNotices(b);
      await row(b, ADA.email).$('[data-testid="account-open"]').click();
      await byTestId(b, "account-page").waitForDisplayed();
      expect(await sidewaysOverflow(b), `account page at ${String(width)} px`).toEqual([]);
      await screenshot(b, `account-page-${String(width)}px`);
      await byTestId(b, "account-back").click();

      await byTestId(b, "add-account").click();
      await byTestId(b, "add-account-dialog").waitForDisplayed();
      expect(await unreachable(b, "sign-in-continue"), `Continue at ${String(width)} px`).toBe("");
      await screenshot(b, `add-account-${String(width)}px`);
      await b.keys(["Escape"]);
      await byTestId(b, "add-account-dialog").waitForDisplayed({ reverse: true });
    }
  });

  it("keeps every control of Add account reachable with text at 200%", async () => {
    const b = await start();
    await b.setWindowSize(800, 600);
    await b.execute(() => { document.documentElement.style.fontSize = "200%"; });
    await byTestId(b, "add-account").click();
    await byTestId(b, "add-account-dialog").waitForDisplayed();
    expect(await sidewaysOverflow(b)).toEqual([]);
    for (const id of ["provider-microsoft", "service-contacts", "sign-in-continue", "add-account-close"]) {
      expect(await unreachable(b, id), `${id} at 200% text`).toBe("");
    }
    await screenshot(b, "add-account-text-200");
    await byTestId(b, "add-account-close").click();
    await byTestId(b, "add-account-dialog").waitForDisplayed({ reverse: true });
  });
});

describe("Dark mode", () => {
  it("follows the desktop's dark theme and still passes every contrast check", async () => {
    // A Ferry started under a dark GTK theme.
    await withOwnFerry(DRIVER_PORT + 6, { GTK_THEME: "Adwaita:dark" }, async (b) => {
      const dark = await b.execute(() => window.matchMedia("(prefers-color-scheme: dark)").matches);
      expect(dark, "WebKit reports the dark theme to the page").toBe(true);
      await screenshot(b, "accounts-dark");
      await addAccount(b, "google", ADA);
      await screenshot(b, "accounts-list-dark");
      await row(b, ADA.email).$('[data-testid="account-open"]').click();
      await byTestId(b, "account-page").waitForDisplayed();
      await screenshot(b, "account-page-dark");
      await byTestId(b, "account-back").click();
      await byTestId(b, "open-settings").click();
      await byTestId(b, "settings-dialog").waitForDisplayed();
      await screenshot(b, "settings-dialog-dark");
    });
  });
});
