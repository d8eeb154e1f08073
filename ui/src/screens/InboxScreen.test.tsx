import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { App } from "../App";
import { account, FakeApi, mailStatus, messageView, summary } from "../test/fakeApi";

// jsdom lays nothing out; the list's virtualizer needs a viewport to fill.
const sizes = ["clientHeight", "clientWidth", "offsetHeight", "offsetWidth"] as const;
beforeAll(() => {
  for (const size of sizes) {
    Object.defineProperty(HTMLElement.prototype, size, { configurable: true, get: () => 800 });
  }
});
afterAll(() => {
  for (const size of sizes) {
    Reflect.deleteProperty(HTMLElement.prototype, size);
  }
});

function nth(list: HTMLElement[], i: number): HTMLElement {
  const element = list[i];
  if (element === undefined) throw new Error(`no element ${String(i)}`);
  return element;
}

function twoAccounts(): FakeApi {
  const api = new FakeApi();
  api.accounts = {
    status: "ok",
    data: [account({ id: "g" }), account({ id: "m", provider: "microsoft", email: "ada@work.example" })],
  };
  api.statuses = [
    mailStatus({ accountId: "g", messages: 1200 }),
    mailStatus({ accountId: "m", messages: 40, caughtUp: false, lastSyncAt: null }),
  ];
  api.mail = [
    summary({ accountId: "g", id: "1", messageId: "one@x", alsoIn: [{ accountId: "m", id: "1b" }] }),
    summary({
      accountId: "m",
      id: "2",
      messageId: "two@x",
      subject: [{ text: "Budget", hit: false }],
      fromName: "Katherine Johnson",
      unread: false,
    }),
    summary({ accountId: "g", id: "3", messageId: "three@x", subject: [{ text: "Lunch", hit: false }] }),
  ];
  return api;
}

describe("Inbox", () => {
  it("opens on one list of every account's mail, with each account's sync progress", async () => {
    const api = twoAccounts();
    render(<App api={api} />);
    const rows = await screen.findAllByRole("option");
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent("Quarterly plans");
    // The message both accounts received is one row naming both.
    expect(within(nth(rows, 0)).getByText("ada@example.com")).toBeInTheDocument();
    expect(within(nth(rows, 0)).getByText("ada@work.example")).toBeInTheDocument();
    const statuses = await screen.findAllByTestId("mail-sync-status");
    await waitFor(() => { expect(statuses[0]).toHaveTextContent("Up to date · 1,200 messages"); });
    expect(statuses[1]).toHaveTextContent("Syncing · 40 messages so far");
    expect(api.mailQueries[0]?.filter).toEqual({
      mailbox: "Inbox", accountId: null, folderId: null, unreadOnly: false, search: "",
    });

    // New mail reloads the list, not the account list.
    const lists = api.mailQueries.length;
    const accountLoads = api.listCalls;
    act(() => { api.sendMailChanged(["g"]); });
    await waitFor(() => { expect(api.mailQueries.length).toBeGreaterThan(lists); });
    expect(api.listCalls).toBe(accountLoads);
  });

  it("reads a message with remote images blocked until the user shows them", async () => {
    const api = twoAccounts();
    api.views["1"] = messageView({ id: "1", accountId: "g", html: "<p>Hello <b>Ada</b></p>", remoteBlocked: 2 });
    render(<App api={api} />);
    await userEvent.click(nth(await screen.findAllByRole("option"), 0));
    const frame = await screen.findByTestId("message-frame");
    expect(frame).toHaveAttribute("sandbox", "");
    expect(frame.getAttribute("srcdoc")).toContain("<b>Ada</b>");
    expect(frame.getAttribute("srcdoc")).toContain("img-src data:;");
    expect(screen.getByTestId("remote-blocked")).toHaveTextContent("2 remote images were not loaded");
    await userEvent.click(screen.getByRole("button", { name: "Show images" }));
    await waitFor(() => { expect(api.reads.at(-1)).toEqual({ message: { accountId: "g", id: "1" }, allowRemote: true }); });
    await waitFor(() => { expect(screen.queryByTestId("remote-blocked")).not.toBeInTheDocument(); });
    expect(screen.getByTestId("message-frame").getAttribute("srcdoc")).toContain("img-src data: https: http:;");
  });

  it("opens and saves attachments, and says where a saved one went", async () => {
    const api = twoAccounts();
    api.views["1"] = messageView({
      id: "1",
      accountId: "g",
      attachments: [{ index: 0, filename: "plan.pdf", contentType: "application/pdf", size: 2048, inline: false }],
    });
    render(<App api={api} />);
    await userEvent.click(nth(await screen.findAllByRole("option"), 0));
    await userEvent.click(await screen.findByRole("button", { name: "Open plan.pdf" }));
    expect(api.attachmentsOpened).toEqual([{ message: { accountId: "g", id: "1" }, index: 0 }]);
    await userEvent.click(screen.getByRole("button", { name: "Save plan.pdf to Downloads" }));
    expect(await screen.findByText("Saved to /home/ada/Downloads/1-0")).toBeInTheDocument();
  });

  it("moves with j and k, and / goes to the search box", async () => {
    const api = twoAccounts();
    render(<App api={api} />);
    await screen.findAllByRole("option");
    await userEvent.keyboard("j");
    expect(screen.getAllByRole("option")[0]).toHaveAttribute("aria-selected", "true");
    await userEvent.keyboard("jj");
    expect(screen.getAllByRole("option")[2]).toHaveAttribute("aria-selected", "true");
    await userEvent.keyboard("k");
    expect(screen.getAllByRole("option")[1]).toHaveAttribute("aria-selected", "true");
    expect(await screen.findByTestId("message-view")).toBeInTheDocument();
    await userEvent.keyboard("/");
    expect(screen.getByRole("searchbox", { name: "Search mail" })).toHaveFocus();
  });

  it("searches as the user types and explains a filter it cannot read", async () => {
    const api = twoAccounts();
    render(<App api={api} />);
    await screen.findAllByRole("option");
    await userEvent.type(screen.getByRole("searchbox", { name: "Search mail" }), "from:grace budget");
    await waitFor(() => { expect(api.mailQueries.at(-1)?.filter.search).toBe("from:grace budget"); });

    api.mailError = { status: "error", error: { code: "Validation", message: "Before: needs a date such as 2026-11-30." } };
    const box = screen.getByRole("searchbox", { name: "Search mail" });
    await userEvent.clear(box);
    await userEvent.type(box, "before:soon");
    expect(await screen.findByTestId("search-error")).toHaveTextContent("Before: needs a date");
    api.mailError = null;
    await userEvent.type(box, "{Escape}");
    expect(box).toHaveValue("");
    await waitFor(() => { expect(screen.queryByTestId("search-error")).not.toBeInTheDocument(); });
  });

  it("loads the next page as the end of the list comes into view", async () => {
    const api = twoAccounts();
    api.mailPage = 2;
    render(<App api={api} />);
    await waitFor(() => { expect(screen.getAllByRole("option")).toHaveLength(3); });
    expect(api.mailQueries.map((q) => q.cursor)).toEqual([null, "2"]);
  });

  it("has a way to add an account when there is none, and reloads when mail arrives", async () => {
    const api = new FakeApi();
    render(<App api={api} />);
    await userEvent.click(await screen.findByTestId("nav-inbox"));
    expect(await screen.findByText("No mail yet")).toBeInTheDocument();
    await userEvent.click(screen.getByTestId("inbox-add-account"));
    expect(await screen.findByRole("dialog", { name: "Add account" })).toBeInTheDocument();

    // Mail arriving while Accounts is shown waits until the inbox is shown again.
    const before = api.mailQueries.length;
    act(() => { api.sendMailChanged(); });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(api.mailQueries.length).toBe(before);
    await userEvent.keyboard("{Escape}");
    await userEvent.click(await screen.findByTestId("nav-inbox"));
    await waitFor(() => { expect(api.mailQueries.length).toBeGreaterThan(before); });
    const shown = api.mailQueries.length;
    act(() => { api.sendMailChanged(); });
    await waitFor(() => { expect(api.mailQueries.length).toBeGreaterThan(shown); });
  });
});

describe("Export", () => {
  it("saves a message as .eml and what the list shows as mbox", async () => {
    const api = twoAccounts();
    render(<App api={api} />);
    await userEvent.click(nth(await screen.findAllByRole("option"), 0));
    await userEvent.click(await screen.findByRole("button", { name: "Save as .eml" }));
    expect(await screen.findByText("Saved to /home/ada/Downloads/1.eml")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Export as mbox" }));
    expect(await screen.findByText("Saved 3 messages to /home/ada/Downloads/ferry-mail.mbox")).toBeInTheDocument();
    expect(api.exports).toEqual([
      { accountId: "g", id: "1" },
      { mailbox: "Inbox", accountId: null, folderId: null, unreadOnly: false, search: "" },
    ]);
  });
});
