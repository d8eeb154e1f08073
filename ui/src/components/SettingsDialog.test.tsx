import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { account, FakeApi } from "../test/fakeApi";
import { showAccounts } from "../test/screens";

describe("Settings", () => {
  it("turns notifications off and changes the patience for passing problems", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Settings" }));
    await user.click(await screen.findByRole("checkbox", { name: /Notify me/ }));
    const minutes = screen.getByRole("spinbutton");
    await user.clear(minutes);
    await user.type(minutes, "45");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => { expect(screen.queryByTestId("settings-dialog")).not.toBeInTheDocument(); });
    expect(api.settings).toMatchObject({ notifications: false, transientAlertMinutes: 45 });
  });

  it("syncs mail from further back when asked", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Settings" }));
    const depth = screen.getByRole("combobox", { name: "Keep mail from" });
    expect(depth).toHaveValue("12");
    expect(depth).toHaveAccessibleDescription(/Going further back fetches the older mail/);
    await user.selectOptions(depth, "all time");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => { expect(screen.queryByTestId("settings-dialog")).not.toBeInTheDocument(); });
    expect(api.settings).toMatchObject({ mailMonths: 0 });
  });

  it("offers launch at login once, after the first account", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [account()] };
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Start at login" }));
    await waitFor(() => { expect(screen.queryByTestId("launch-at-login-offer")).not.toBeInTheDocument(); });
    expect(api.settings).toMatchObject({ launchAtLogin: true, launchAtLoginOffered: true });
  });

  it("copies diagnostics and shows what was copied; without a clipboard the text is shown to copy", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await showAccounts();
    await user.click(await screen.findByRole("button", { name: "Settings" }));
    await user.click(await screen.findByRole("button", { name: "Copy diagnostics" }));
    expect(await screen.findByTestId("diagnostics-status")).toHaveTextContent("Copied. Paste it");
    expect(screen.getByRole("textbox", { name: "Diagnostics" })).toHaveValue(
      "Ferry diagnostics\nAccounts: 1\n1. Google – Healthy",
    );

    api.diagnostics = { status: "ok", data: { text: "report", copied: false } };
    await user.click(screen.getByRole("button", { name: "Copy diagnostics" }));
    expect(await screen.findByTestId("diagnostics-status")).toHaveTextContent("could not use the clipboard");
    expect(screen.getByRole("textbox", { name: "Diagnostics" })).toBeVisible();

    api.diagnostics = { status: "error", error: { code: "Storage", message: "The database is busy." } };
    await user.click(screen.getByRole("button", { name: "Copy diagnostics" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The database is busy.");
  });
});
