import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { initials } from "./components/AccountRow";
import { FakeApi } from "./test/fakeApi";

describe("Accounts screen", () => {
  it("shows the empty state with an Add account button when there are no accounts", async () => {
    const api = new FakeApi();
    render(<App api={api} />);
    expect(await screen.findByText("No accounts yet")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Add account" })).toBeEnabled();
    expect(screen.queryByTestId("account-list")).not.toBeInTheDocument();
  });

  it("reports the first paint to the backend exactly once", async () => {
    const api = new FakeApi();
    render(<App api={api} />);
    await screen.findByTestId("accounts-empty");
    await waitFor(() => { expect(api.readyCalls).toBe(1); });
    act(() => { api.sendAccountsChanged(); });
    await waitFor(() => { expect(api.listCalls).toBe(2); });
    expect(api.readyCalls).toBe(1);
  });

  it("lists accounts with initials, provider and email", async () => {
    const api = new FakeApi();
    api.accounts = {
      status: "ok",
      data: [
        { id: "a", provider: "google", email: "ada@example.com", displayName: "Ada Lovelace" },
        { id: "b", provider: "microsoft", email: "grace@work.example", displayName: "" },
      ],
    };
    render(<App api={api} />);
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
    expect(await screen.findByRole("alert")).toHaveTextContent("disk is full");
    api.accounts = { status: "ok", data: [] };
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(await screen.findByText("No accounts yet")).toBeInTheDocument();
  });

  it("reloads the list when the backend says accounts changed", async () => {
    const api = new FakeApi();
    render(<App api={api} />);
    await screen.findByText("No accounts yet");
    api.accounts = {
      status: "ok",
      data: [{ id: "a", provider: "google", email: "ada@example.com", displayName: "Ada" }],
    };
    act(() => { api.sendAccountsChanged(); });
    expect(await screen.findByTestId("account-row")).toHaveTextContent("ada@example.com");
  });
});

describe("Add account dialog", () => {
  it("opens from the button, says signing in is unavailable, and closes with Escape", async () => {
    const user = userEvent.setup();
    render(<App api={new FakeApi()} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    const dialog = await screen.findByRole("dialog", { name: "Add account" });
    expect(dialog).toHaveTextContent("not available in this build");
    expect(screen.getByRole("button", { name: "Google" })).toBeDisabled();
    await user.keyboard("{Escape}");
    await waitFor(() => { expect(screen.queryByRole("dialog")).not.toBeInTheDocument(); });
  });

  it("opens with Ctrl+N", async () => {
    const user = userEvent.setup();
    render(<App api={new FakeApi()} />);
    await screen.findByText("No accounts yet");
    await user.keyboard("{Control>}n{/Control}");
    expect(await screen.findByRole("dialog", { name: "Add account" })).toBeInTheDocument();
  });
});

describe("App shell", () => {
  it("shows notices from the backend as dismissible toasts", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await screen.findByText("No accounts yet");
    act(() => { api.sendNotice({ level: "warning", message: "no sign-in is in progress" }); });
    const notice = await screen.findByTestId("notice");
    expect(notice).toHaveTextContent("no sign-in is in progress");
    await user.click(screen.getByRole("button", { name: "Dismiss" }));
    await waitFor(() => { expect(screen.queryByTestId("notice")).not.toBeInTheDocument(); });
  });

  it("closes the window with Ctrl+W", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await screen.findByText("No accounts yet");
    await user.keyboard("{Control>}w{/Control}");
    expect(api.closeCalls).toBe(1);
  });

  it("explains a start-up failure instead of showing the app", async () => {
    const api = new FakeApi();
    api.status = {
      ...api.status,
      startupError: { code: "DatabaseTooNew", message: "written by a newer version of Ferry" },
    };
    render(<App api={api} />);
    expect(await screen.findByRole("heading")).toHaveTextContent("older than your data");
    expect(screen.getByTestId("startup-error-message")).toHaveTextContent("newer version");
    expect(screen.queryByTestId("accounts-screen")).not.toBeInTheDocument();
  });

  it("badges test and development builds but not installed ones", async () => {
    const api = new FakeApi();
    const { unmount } = render(<App api={api} />);
    expect(await screen.findByTestId("profile-badge")).toHaveTextContent("Test run");
    unmount();
    api.status = { ...api.status, info: { ...api.status.info, profile: "release" } };
    render(<App api={api} />);
    await screen.findByText("No accounts yet");
    expect(screen.queryByTestId("profile-badge")).not.toBeInTheDocument();
  });
});

describe("Sandbox badge", () => {
  it("shows when a provider is the local sandbox, and not otherwise", async () => {
    const api = new FakeApi();
    const { unmount } = render(<App api={api} />);
    await screen.findByText("No accounts yet");
    expect(screen.queryByTestId("sandbox-badge")).not.toBeInTheDocument();
    unmount();
    api.status = { ...api.status, info: { ...api.status.info, sandbox: true } };
    render(<App api={api} />);
    expect(await screen.findByTestId("sandbox-badge")).toHaveTextContent("Sandbox");
  });
});

describe("initials", () => {
  it("takes two words of the name, or the email's first letter", () => {
    expect(initials({ displayName: "ada  king lovelace", email: "x@y" })).toBe("AK");
    expect(initials({ displayName: "  ", email: "grace@y" })).toBe("G");
  });
});
