import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { account, FakeApi } from "../test/fakeApi";
import { showAccounts } from "../test/screens";

describe("Account page", () => {
  const partial = account({
    services: [
      { service: "mail", requested: true, granted: true, access: "read" },
      { service: "calendar", requested: true, granted: true, access: "readWrite" },
      { service: "contacts", requested: true, granted: false, access: "read" },
    ],
  });

  it("shows each service's status in the list and on the page", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [partial] };
    render(<App api={api} />);
    await showAccounts();
    const row = await screen.findByTestId("account-row");
    expect(row).toHaveTextContent("Contacts: Not granted");
    await user.click(screen.getByRole("button", { name: "Manage ada@example.com" }));
    expect(screen.getByTestId("service-contacts")).toHaveTextContent("Not granted");
    expect(screen.getByTestId("service-calendar")).toHaveTextContent("see and edit events");
  });

  it("grants a missing service through a reconnect for the same account", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [partial] };
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Manage ada@example.com" }));
    await user.click(screen.getByTestId("grant-contacts"));
    await screen.findByRole("dialog", { name: "Reconnect ada@example.com" });
    expect(screen.queryByRole("radio")).not.toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    expect(api.signInRequests[0]).toEqual({
      provider: "google",
      services: { mail: true, calendar: "readWrite", contacts: true },
      reconnect: "a1",
    });
  });

  it("turns a service off", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [partial] };
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Manage ada@example.com" }));
    await user.click(screen.getByTestId("off-mail"));
    expect(api.servicesSet).toEqual([
      { accountId: "a1", services: { mail: false, calendar: "readWrite", contacts: true } },
    ]);
  });

  it("removes only after confirmation", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [partial] };
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Manage ada@example.com" }));
    await user.click(screen.getByRole("button", { name: "Remove account" }));
    const confirm = await screen.findByRole("alertdialog");
    expect(confirm).toHaveTextContent("access to your Google account will be withdrawn");
    await user.click(screen.getByRole("button", { name: "Keep account" }));
    expect(api.removed).toEqual([]);
    await user.click(screen.getByRole("button", { name: "Remove account" }));
    await user.click(await screen.findByRole("button", { name: "Remove" }));
    await waitFor(() => { expect(api.removed).toEqual(["a1"]); });
    expect(await screen.findByTestId("account-list")).toBeInTheDocument();
  });
});
