import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { account, FakeApi } from "../test/fakeApi";
import { showAccounts } from "../test/screens";

describe("Accounts screen", () => {
  it("shows the empty state with an Add account button when there are no accounts", async () => {
    const api = new FakeApi();
    render(<App api={api} />);
    await showAccounts();
    expect(await screen.findByText("No accounts yet")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Add account" })).toBeEnabled();
    expect(screen.queryByTestId("account-list")).not.toBeInTheDocument();
  });

  it("reports the first paint to the backend exactly once", async () => {
    const api = new FakeApi();
    render(<App api={api} />);
    await showAccounts();
    await screen.findByTestId("accounts-empty");
    await waitFor(() => { expect(api.readyCalls).toBe(1); });
    const before = api.listCalls;
    act(() => { api.sendAccountsChanged(); });
    await waitFor(() => { expect(api.listCalls).toBeGreaterThan(before); });
    expect(api.readyCalls).toBe(1);
  });

  it("lists accounts with initials, provider and email", async () => {
    const api = new FakeApi();
    api.accounts = {
      status: "ok",
      data: [
        account({ id: "a" }),
        account({ id: "b", provider: "microsoft", email: "grace@work.example", displayName: "" }),
      ],
    };
    render(<App api={api} />);
    await showAccounts();
    const rows = await screen.findAllByTestId("account-row");
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("AL");
    expect(rows[0]).toHaveTextContent("ada@example.com · Google");
    expect(rows[1]).toHaveTextContent("grace@work.example · Microsoft");
    expect(screen.queryByText("No accounts yet")).not.toBeInTheDocument();
  });

  it("shows a load failure with a working retry", async () => {
    const api = new FakeApi();
    api.accounts = { status: "error", error: { code: "Storage", message: "disk is full" } };
    render(<App api={api} />);
    await showAccounts();
    expect(await screen.findByRole("alert")).toHaveTextContent("disk is full");
    api.accounts = { status: "ok", data: [] };
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("No accounts yet")).toBeInTheDocument();
  });

  it("reloads the list when the backend says accounts changed", async () => {
    const api = new FakeApi();
    render(<App api={api} />);
    await showAccounts();
    await screen.findByText("No accounts yet");
    api.accounts = {
      status: "ok",
      data: [account()],
    };
    act(() => { api.sendAccountsChanged(); });
    expect(await screen.findByTestId("account-row")).toHaveTextContent("ada@example.com");
  });

  it("follows Sync now in a polite status line, from the first check to the last", async () => {
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [account({ id: "a" }), account({ id: "b" })] };
    render(<App api={api} />);
    await showAccounts();
    await screen.findAllByTestId("account-row");
    const status = screen.getByTestId("check-progress");
    expect(status).toHaveAttribute("role", "status");
    expect(status).toHaveTextContent(/^$/);
    act(() => { api.sendProgress({ task: "checkConnections", done: 1, total: 2 }); });
    expect(status).toHaveTextContent("Checking connections: 1 of 2…");
    expect(status).toHaveAttribute("aria-busy", "true");
    act(() => { api.sendProgress({ task: "checkConnections", done: 2, total: 2 }); });
    expect(status).toHaveTextContent("Checked 2 connections.");
    expect(status).toHaveAttribute("aria-busy", "false");
    act(() => { api.sendProgress({ task: "checkConnections", done: 0, total: 0 }); });
    expect(status).toHaveTextContent("Nothing to check right now");
  });
});
