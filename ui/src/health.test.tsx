import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { account, FakeApi } from "./test/fakeApi";
import { showAccounts } from "./test/screens";

describe("Connection health", () => {
  const broken = account({
    health: {
      state: "needsSignIn",
      since: "2026-11-20T11:00:00Z",
      nextTryAt: null,
      code: "invalid_grant",
      help: {
        summary: "Ferry's access to this Google account was removed",
        fix: "Choose Reconnect and sign in to allow it again.",
      },
      lastRefreshAt: "2026-11-20T10:00:00Z",
      lastSyncAt: null,
      grantExpiresAt: null,
    },
  });

  it("marks an account that needs sign-in and reconnects it from the row", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [broken] };
    render(<App api={api} />);
    await showAccounts();
    expect(await screen.findByTestId("health")).toHaveTextContent("Needs sign-in");
    await user.click(screen.getByRole("button", { name: "Reconnect ada@example.com" }));
    await screen.findByRole("dialog", { name: "Reconnect ada@example.com" });
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    expect(api.signInRequests[0]?.reconnect).toBe("a1");
  });

  it("shows the plain help, the provider's code and the timeline on the account page", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [broken] };
    api.timelines.a1 = [
      { at: "2026-11-20T10:00:00Z", kind: "added", detail: "Added, with mail and calendar.", code: null },
      { at: "2026-11-20T11:00:00Z", kind: "needsSignIn", detail: "Choose Reconnect.", code: "invalid_grant" },
    ];
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Manage ada@example.com" }));
    const health = screen.getByTestId("account-health");
    expect(health).toHaveTextContent("Ferry's access to this Google account was removed.");
    expect(health).toHaveTextContent("Google said: invalid_grant");
    const timeline = await screen.findByTestId("timeline");
    expect(timeline.children).toHaveLength(2);
    expect(timeline.firstElementChild).toHaveTextContent("Choose Reconnect.");
    await user.click(screen.getByRole("button", { name: "Export as JSON" }));
    expect(await screen.findByRole("status")).toHaveTextContent("ferry-timeline-a1.json");
    expect(api.exported).toEqual(["a1"]);
  });

  it("warns days ahead when the provider will end the grant", async () => {
    const api = new FakeApi();
    const soon = new Date(Date.now() + 2.5 * 86_400_000).toISOString();
    api.accounts = { status: "ok", data: [account({ health: { ...account().health, grantExpiresAt: soon } })] };
    render(<App api={api} />);
    await showAccounts();
    expect(await screen.findByTestId("health")).toHaveTextContent("Needs sign-in in 3 days");
  });

  it("opens Reconnect when a notification or the tray asks for it", async () => {
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [broken] };
    render(<App api={api} />);
    await showAccounts();
    await screen.findByTestId("account-row");
    act(() => { api.sendReconnectRequested("a1"); });
    expect(await screen.findByRole("dialog", { name: "Reconnect ada@example.com" })).toBeInTheDocument();
  });

  it("pauses and resumes an account from its page", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    const paused = account({ health: { ...account().health, state: "paused" } });
    api.accounts = { status: "ok", data: [account()] };
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Manage ada@example.com" }));
    await user.click(screen.getByRole("button", { name: "Pause" }));
    expect(api.paused).toEqual([{ accountId: "a1", paused: true }]);
    api.accounts = { status: "ok", data: [paused] };
    act(() => { api.sendAccountsChanged(); });
    expect(await screen.findByText(/Paused: Ferry does not renew/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Resume" }));
    expect(api.paused).toEqual([
      { accountId: "a1", paused: true },
      { accountId: "a1", paused: false },
    ]);
  });

  it("checks every connection with Sync now", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [account()] };
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Sync now" }));
    expect(api.checks).toBe(1);
  });
});
