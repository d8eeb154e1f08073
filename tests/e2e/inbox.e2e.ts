// The unified inbox in the real window: a Google and a Microsoft account's mail in one
// list, search with marked matches, the reading pane with remote images held back, an
// attachment opened with the system's app, and new mail arriving on Sync now.
// Every screenshot also runs axe on the state it shows.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BROWSER_BIN,
  browserVisits,
  byTestId,
  dismissNotices,
  forgetAccounts,
  launchReady,
  oneFerryPerTest,
  sandboxPost,
  screenshot,
  showSection,
  sql,
  waitUntil,
  type Browser,
} from "./ferry";
import { ADA, addAccount, KATHERINE } from "./accounts";

const ferry = oneFerryPerTest();

// The session's "app for text files" is the stand-in browser, which notes each file it is
// given: xdg-open finds it the way it finds a text editor on a desktop.
beforeAll(() => {
  const data = process.env.XDG_DATA_HOME;
  const config = process.env.XDG_CONFIG_HOME;
  if (data === undefined || config === undefined) throw new Error("run inside tests/session/run.sh");
  mkdirSync(join(data, "applications"), { recursive: true });
  writeFileSync(
    join(data, "applications", "ferry-e2e-viewer.desktop"),
    `[Desktop Entry]\nType=Application\nName=Viewer\nExec=${BROWSER_BIN} %f\nMimeType=text/plain;\n`,
  );
  mkdirSync(config, { recursive: true });
  writeFileSync(join(config, "mimeapps.list"), "[Default Applications]\ntext/plain=ferry-e2e-viewer.desktop\n");
});

afterAll(() => {
  forgetAccounts();
});

/** A message with a word nothing else has, a remote image, and a small attachment. */
function letter(word: string): string {
  return [
    "Message-ID: <" + word + "@e2e.example>",
    "From: Field Notes <notes@e2e.example>",
    "To: ada@example.com",
    "Subject: Survey of the " + word,
    "Date: Mon, 30 Nov 2026 09:00:00 +0000",
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="b1"',
    "",
    "--b1",
    "Content-Type: text/html; charset=utf-8",
    "",
    `<p>We saw a ${word} by the river.</p><img src="https://tracker.e2e.example/p.gif" width="1" height="1">`,
    "--b1",
    'Content-Type: text/plain; name="notes.txt"',
    'Content-Disposition: attachment; filename="notes.txt"',
    "",
    "twelve sightings",
    "--b1--",
    "",
  ].join("\r\n");
}

/** The ids of the messages on screen, by account. */
async function rowsByAccount(b: Browser): Promise<Record<string, number>> {
  return b.execute(() => {
    const counts: Record<string, number> = {};
    for (const row of Array.from(document.querySelectorAll('[data-testid="message-row"]'))) {
      const id = row.getAttribute("data-account-id") ?? "";
      counts[id] = (counts[id] ?? 0) + 1;
    }
    return counts;
  });
}

async function search(b: Browser, text: string): Promise<void> {
  const box = byTestId(b, "search-box");
  await box.click();
  await box.clearValue();
  await box.setValue(text);
}

describe("The unified inbox", () => {
  it("shows two providers' mail in one list, finds a word, and opens an attachment", { timeout: 120_000 }, async () => {
    await sandboxPost(`/mail/${ADA.email}/messages`, { raw: letter("kingfisher") });
    const b = (ferry.browser = await launchReady());
    await addAccount(b, "google", ADA, { mail: true, calendar: false, contacts: false });
    await addAccount(b, "microsoft", KATHERINE, { mail: true, calendar: false, contacts: false });
    const google = sql(`SELECT id FROM accounts WHERE email = '${ADA.email}'`);
    const microsoft = sql(`SELECT id FROM accounts WHERE email = '${KATHERINE.email}'`);

    await showSection(b, "inbox");
    // The list shows rows as they arrive; each account's filter shows its own mail.
    for (const id of [google, microsoft]) {
      await b.$(`[data-testid="mail-account"][data-account-id="${id}"]`).click();
      await b
        .$(`[data-testid="message-row"][data-account-id="${id}"]`)
        .waitForDisplayed({ timeout: 30_000, timeoutMsg: `mail of ${id}` });
      expect(Object.keys(await rowsByAccount(b))).toEqual([id]);
    }
    await byTestId(b, "mail-account-all").click();
    let said: string[] = [];
    const synced = await b
      .waitUntil(
        async () => {
          said = await b.$$('[data-testid="mail-sync-status"]').map((s) => s.getText());
          return said.every((t) => t.startsWith("Up to date"));
        },
        { timeout: 30_000 },
      )
      .catch(() => false);
    if (!synced) {
      // What the sync left behind, for the failure's message.
      const checkpoints = sql("SELECT account_id, scope, checkpoint FROM sync_checkpoints");
      const runs = sql("SELECT account_id, kind, added, requests, error, finished_at IS NULL FROM sync_runs");
      expect.fail(`both accounts synced; the sidebar said: ${said.join(" | ")}\n${checkpoints}\n${runs}`);
    }
    await screenshot(b, "inbox-two-accounts");

    await search(b, "kingfisher");
    await b.waitUntil(async () => (await b.$$('[data-testid="message-row"]').length) === 1, {
      timeout: 10_000,
      timeoutMsg: "one message has the word",
    });
    const marked = await b.$('[data-testid="message-row"] mark').getText();
    expect(marked.toLowerCase()).toBe("kingfisher");
    await screenshot(b, "inbox-search-result");

    await b.$('[data-testid="message-row"]').click();
    await byTestId(b, "remote-blocked").waitForDisplayed({ timeout: 10_000 });
    expect(await byTestId(b, "remote-blocked").getText()).toContain("1 remote image was not loaded");
    const frame = await byTestId(b, "message-frame").getAttribute("srcdoc");
    expect(frame).toContain("We saw a kingfisher by the river.");
    expect(frame).not.toContain("tracker.e2e.example");
    await screenshot(b, "inbox-remote-blocked");

    await byTestId(b, "remote-allow").click();
    await byTestId(b, "remote-blocked").waitForDisplayed({ reverse: true, timeout: 10_000 });
    expect(await byTestId(b, "message-frame").getAttribute("srcdoc")).toContain("tracker.e2e.example");

    // The "is added" notices sit over the pane's foot; the user dismisses them.
    await dismissNotices(b);
    const opened = browserVisits().length;
    await byTestId(b, "attachment-open").click();
    expect(
      await waitUntil(() => browserVisits().length > opened, 15_000),
      "the system opened the attachment",
    ).toBe(true);
    const visit = browserVisits().at(-1)?.visit;
    expect(visit).toMatchObject({ outcome: "opened file", name: "notes.txt", bytes: "twelve sightings".length });

    // Escape clears the search.
    await byTestId(b, "search-box").click();
    await b.keys(["Escape"]);
    expect(await byTestId(b, "search-box").getValue()).toBe("");

    // The dashboard: both accounts' mail, up to date, with what it holds and spent.
    await showSection(b, "status");
    await b.waitUntil(async () => (await b.$$('[data-testid="status-mail"]').length) === 2, {
      timeout: 10_000,
      timeoutMsg: "both accounts' mail on the dashboard",
    });
    const states = await b.$$('[data-testid="status-state"]').map((e) => e.getText());
    expect(states).toEqual(["Up to date", "Up to date"]);
    const items = await b.$$('[data-testid="status-items"]').map((e) => e.getText());
    expect(items.every((t) => /^[\d,]+ messages/.test(t) && !t.startsWith("0 "))).toBe(true);
    await screenshot(b, "status-dashboard");
  });

  it("shows mail delivered elsewhere after Sync now", async () => {
    const b = (ferry.browser = await launchReady());
    await showSection(b, "inbox");
    await byTestId(b, "message-list").waitForDisplayed({ timeout: 20_000 });
    await sandboxPost(`/mail/${KATHERINE.email}/messages`, {
      raw: "Message-ID: <heron@e2e.example>\r\nFrom: Lake Office <lake@e2e.example>\r\nTo: katherine@contoso.example\r\nSubject: A grey heron\r\n\r\nSeen at dawn.\r\n",
    });
    await showSection(b, "accounts");
    await byTestId(b, "sync-now").click();
    await showSection(b, "inbox");
    await search(b, "heron");
    await b.waitUntil(async () => (await b.$$('[data-testid="message-row"]').length) === 1, {
      timeout: 30_000,
      timeoutMsg: "the new message arrived after Sync now",
    });
  });
});
