import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "./App";
import { initials } from "./components/AccountRow";
import { account, FakeApi } from "./test/fakeApi";

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
        account({ id: "a" }),
        account({ id: "b", provider: "microsoft", email: "grace@work.example", displayName: "" }),
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
      data: [account()],
    };
    act(() => { api.sendAccountsChanged(); });
    expect(await screen.findByTestId("account-row")).toHaveTextContent("ada@example.com");
  });
});

describe("Add account dialog", () => {
  it("asks for a provider and services, and sends exactly that choice", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    const dialog = await screen.findByRole("dialog", { name: "Add account" });
    expect(dialog).toHaveTextContent("Ferry cannot send, change or delete messages");
    await user.click(screen.getByRole("radio", { name: /Microsoft/ }));
    await user.click(screen.getByRole("checkbox", { name: /Contacts/ }));
    await user.click(screen.getByRole("checkbox", { name: /add and change events/ }));
    await user.click(screen.getByRole("button", { name: "Continue with Microsoft" }));
    expect(api.signInRequests).toEqual([
      {
        provider: "microsoft",
        services: { mail: true, calendar: "readWrite", contacts: false },
        reconnect: null,
      },
    ]);
    expect(await screen.findByTestId("sign-in-waiting")).toHaveTextContent(
      "Finish signing in to Microsoft in your browser",
    );
  });

  it("cannot continue with no service chosen", async () => {
    const user = userEvent.setup();
    render(<App api={new FakeApi()} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    for (const name of [/Mail/, /Calendar/, /Contacts/]) {
      await user.click(screen.getByRole("checkbox", { name }));
    }
    expect(screen.getByRole("button", { name: "Continue with Google" })).toBeDisabled();
  });

  it("follows the sign-in's progress and closes when the account is added", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await screen.findByTestId("sign-in-waiting");
    act(() => { api.sendSignIn({ flowId: "another-flow", stage: { kind: "cancelled" } }); });
    expect(screen.getByTestId("sign-in-waiting")).toBeInTheDocument();
    act(() => { api.sendSignIn({ flowId: "flow-1", stage: { kind: "finishing" } }); });
    expect(await screen.findByText("Checking your sign-in with Google…")).toBeInTheDocument();
    act(() => {
      api.sendSignIn({
        flowId: "flow-1",
        stage: { kind: "done", accountId: "a1", email: "ada@example.com", created: true },
      });
    });
    await waitFor(() => { expect(screen.queryByRole("dialog")).not.toBeInTheDocument(); });
  });

  it("shows why a sign-in failed and offers to try again", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await screen.findByTestId("sign-in-waiting");
    act(() => {
      api.sendSignIn({
        flowId: "flow-1",
        stage: { kind: "failed", error: { code: "SignIn", message: "You declined access." } },
      });
    });
    expect(await screen.findByRole("alert")).toHaveTextContent("You declined access.");
    await user.click(screen.getByRole("button", { name: "Try again" }));
    expect(screen.getByRole("button", { name: "Continue with Google" })).toBeEnabled();
  });

  it("takes an answer that arrives before the sign-in has started", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.beforeBeginAnswers = () => {
      api.sendSignIn({
        flowId: "flow-1",
        stage: { kind: "failed", error: { code: "SignIn", message: "You declined access." } },
      });
    };
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("You declined access.");
  });

  it("explains a locked keychain before any browser opens", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.beginResult = {
      status: "error",
      error: { code: "KeychainUnavailable", message: "The system keychain is not available." },
    };
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The system keychain is not available.");
    expect(screen.getByTestId("sign-in-failed")).toHaveTextContent("Unlock it");
  });

  it("offers a passphrase where there is no keychain, then signs in", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.beginResult = {
      status: "error",
      error: { code: "KeychainUnavailable", message: "The system keychain is not available." },
    };
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await user.click(await screen.findByRole("button", { name: "protect it with a passphrase instead" }));
    const submit = screen.getByRole("button", { name: "Use this passphrase" });
    await user.type(screen.getByLabelText("Passphrase"), "short");
    expect(submit).toBeDisabled();
    await user.type(screen.getByLabelText("Passphrase"), " but now long");
    await user.type(screen.getByLabelText("Repeat it"), "short but now lon");
    expect(screen.getByText("The two passphrases differ.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Repeat it"), "g");
    await user.click(submit);
    expect(api.passphraseCalls).toEqual([{ kind: "create", passphrase: "short but now long" }]);
    expect(await screen.findByTestId("sign-in-waiting")).toBeInTheDocument();
    expect(api.signInRequests).toHaveLength(2);
  });

  it("cancels the sign-in with Cancel, and with Escape", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Add account" }));
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await user.click(await screen.findByRole("button", { name: "Cancel" }));
    expect(api.cancelled).toEqual(["flow-1"]);
    await user.click(screen.getByRole("button", { name: "Continue with Google" }));
    await screen.findByTestId("sign-in-waiting");
    await user.keyboard("{Escape}");
    await waitFor(() => { expect(screen.queryByRole("dialog")).not.toBeInTheDocument(); });
    expect(api.cancelled).toEqual(["flow-1", "flow-1"]);
  });

  it("opens with Ctrl+N", async () => {
    const user = userEvent.setup();
    render(<App api={new FakeApi()} />);
    await screen.findByText("No accounts yet");
    await user.keyboard("{Control>}n{/Control}");
    expect(await screen.findByRole("dialog", { name: "Add account" })).toBeInTheDocument();
  });
});

describe("Passphrase vault", () => {
  it("asks for the passphrase while Ferry is locked, and says when it is wrong", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.vault = { passphrase: true, unlocked: false };
    render(<App api={api} />);
    const banner = await screen.findByTestId("vault-locked");
    expect(banner).toHaveTextContent("Ferry is locked");
    await user.type(screen.getByLabelText("Passphrase"), "wrong guess{Enter}");
    expect(await screen.findByRole("alert")).toHaveTextContent("That passphrase is not right.");
    await user.clear(screen.getByLabelText("Passphrase"));
    await user.type(screen.getByLabelText("Passphrase"), "correct horse battery{Enter}");
    await waitFor(() => { expect(screen.queryByTestId("vault-locked")).not.toBeInTheDocument(); });
  });

  it("stays out of the way with a keychain", async () => {
    render(<App api={new FakeApi()} />);
    await screen.findByText("No accounts yet");
    expect(screen.queryByTestId("vault-locked")).not.toBeInTheDocument();
  });
});

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
    expect(await screen.findByTestId("health")).toHaveTextContent("Needs sign-in in 3 days");
  });

  it("opens Reconnect when a notification or the tray asks for it", async () => {
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [broken] };
    render(<App api={api} />);
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
    await user.click(await screen.findByRole("button", { name: "Sync now" }));
    expect(api.checks).toBe(1);
  });
});

describe("Settings", () => {
  it("turns notifications off and changes the patience for passing problems", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Settings" }));
    await user.click(await screen.findByRole("checkbox", { name: /Notify me/ }));
    const minutes = screen.getByRole("spinbutton");
    await user.clear(minutes);
    await user.type(minutes, "45");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => { expect(screen.queryByTestId("settings-dialog")).not.toBeInTheDocument(); });
    expect(api.settings).toMatchObject({ notifications: false, transientAlertMinutes: 45 });
  });

  it("offers launch at login once, after the first account", async () => {
    const user = userEvent.setup();
    const api = new FakeApi();
    api.accounts = { status: "ok", data: [account()] };
    render(<App api={api} />);
    await user.click(await screen.findByRole("button", { name: "Start at login" }));
    await waitFor(() => { expect(screen.queryByTestId("launch-at-login-offer")).not.toBeInTheDocument(); });
    expect(api.settings).toMatchObject({ launchAtLogin: true, launchAtLoginOffered: true });
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
