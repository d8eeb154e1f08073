import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { account, FakeApi, mailStatus } from "../test/fakeApi";

function api(): FakeApi {
  const fake = new FakeApi();
  fake.accounts = { status: "ok", data: [account({ id: "g" })] };
  fake.statuses = [mailStatus({ accountId: "g", messages: 1234, unread: 5, requestsToday: 42, quotaUnitsToday: 840 })];
  fake.syncLogs.g = [
    {
      service: "mail", kind: "full", startedAt: "2026-11-30T09:00:00Z", finishedAt: "2026-11-30T09:01:00Z",
      added: 1234, changed: 0, removed: 0, requests: 40, quotaUnits: 820, error: null,
    },
  ];
  return fake;
}

describe("Status", () => {
  it("shows each service's state, items and today's spending, and pauses one", async () => {
    const fake = api();
    render(<App api={fake} />);
    await userEvent.click(await screen.findByTestId("nav-status"));
    const row = await screen.findByTestId("status-mail");
    expect(within(row).getByTestId("status-state")).toHaveTextContent("Up to date");
    expect(within(row).getByTestId("status-items")).toHaveTextContent("1,234 messages, 5 unread");
    expect(within(row).getByTestId("status-spent")).toHaveTextContent("42 requests, 840 quota units");
    expect(screen.getByRole("row", { name: /Calendar/ })).toHaveTextContent("does not sync calendar yet");

    await userEvent.click(within(row).getByRole("button", { name: "Sync now, Mail for ada@example.com" }));
    expect(fake.syncsAsked).toEqual([{ accountId: "g", service: "mail" }]);

    await userEvent.click(within(row).getByRole("button", { name: "Pause Mail for ada@example.com" }));
    expect(fake.servicePauses).toEqual([{ accountId: "g", service: "mail", paused: true }]);
    await waitFor(() => { expect(within(screen.getByTestId("status-mail")).getByTestId("status-state")).toHaveTextContent("Paused"); });
    expect(screen.getByRole("button", { name: "Resume Mail for ada@example.com" })).toBeInTheDocument();
  });

  it("asks before removing a large share, and says the same in the inbox", async () => {
    const fake = api();
    fake.statuses = [mailStatus({ accountId: "g", held: { removing: 700, of: 1234 }, lastError: "held" })];
    render(<App api={fake} />);
    // Review, chosen in the tray or the notification, opens Status.
    expect(await screen.findByTestId("nav-inbox")).toHaveAttribute("aria-current", "page");
    act(() => { fake.sendReviewRequested("g"); });
    await waitFor(() => { expect(screen.getByTestId("nav-status")).toHaveAttribute("aria-current", "page"); });
    const row = await screen.findByTestId("status-mail");
    expect(within(row).getByTestId("status-state")).toHaveTextContent("Waiting for you");
    expect(within(row).getByTestId("status-detail")).toHaveTextContent("no longer has 700 of your 1,234 messages");

    await userEvent.click(within(row).getByRole("button", { name: "Keep them" }));
    expect(fake.decisions).toEqual([{ accountId: "g", service: "mail", remove: false }]);
    await waitFor(() => { expect(within(screen.getByTestId("status-mail")).queryByTestId("status-keep")).toBeNull(); });
  });

  it("lists the account's sync runs on its page", async () => {
    const fake = api();
    render(<App api={fake} />);
    await userEvent.click(await screen.findByTestId("nav-accounts"));
    await userEvent.click(await screen.findByTestId("account-open"));
    const run = await screen.findByTestId("sync-run");
    expect(run).toHaveTextContent("Mail: Full sync");
    expect(run).toHaveTextContent("1234");
    expect(run).toHaveTextContent("820");
  });
});
