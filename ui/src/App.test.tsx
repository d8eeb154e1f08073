import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { FakeApi } from "./test/fakeApi";

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
