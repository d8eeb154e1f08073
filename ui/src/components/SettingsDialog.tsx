import { useEffect, useState } from "react";
import { Dialog } from "radix-ui";
import { call, useApi, type AppError, type Settings } from "../api";
import { returnFocusTo } from "../focus";
import { UpdateSettings } from "./Updates";

/** How far back mail is synced: months, and 0 for all of it (the backend's choices). */
const MAIL_MONTHS: [number, string][] = [
  [1, "the last month"],
  [3, "the last 3 months"],
  [6, "the last 6 months"],
  [12, "the last 12 months"],
  [24, "the last 2 years"],
  [60, "the last 5 years"],
  [0, "all time"],
];

/** Notifications, how long to wait before mentioning a passing problem, and launch at login. */
export function SettingsDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content
          className="dialog"
          data-testid="settings-dialog"
          aria-describedby={undefined}
          onCloseAutoFocus={returnFocusTo('[data-testid="open-settings"]')}
        >
          <Dialog.Title>Settings</Dialog.Title>
          <SettingsForm onDone={() => { onOpenChange(false); }} />
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

function SettingsForm({ onDone }: { onDone: () => void }) {
  const api = useApi();
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<AppError | null>(null);

  useEffect(() => {
    void call(() => api.getSettings()).then((result) => {
      if (result.status === "ok") setSettings(result.data);
      else setError(result.error);
    });
  }, [api]);

  if (settings === null) {
    return error === null ? <p className="muted">Loading…</p> : <p role="alert">{error.message}</p>;
  }

  const save = async () => {
    const result = await call(() => api.setSettings(settings));
    if (result.status === "ok") onDone();
    else setError(result.error);
  };

  return (
    <form
      className="settings-form"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <label className="toggle">
        <input
          type="checkbox"
          data-testid="setting-notifications"
          checked={settings.notifications}
          onChange={(e) => { setSettings({ ...settings, notifications: e.target.checked }); }}
        />
        <span>
          <strong>Notify me when an account needs me</strong>
          <span className="muted small"> One notification per problem, withdrawn once it is fixed.</span>
        </span>
      </label>
      <label className="field inline">
        <span>Mention a passing problem (no network, provider trouble) after</span>
        <input
          type="number"
          min={1}
          max={1440}
          data-testid="setting-transient-minutes"
          value={settings.transientAlertMinutes}
          onChange={(e) => { setSettings({ ...settings, transientAlertMinutes: Number(e.target.value) }); }}
        />
        <span>minutes</span>
      </label>
      <label className="toggle">
        <input
          type="checkbox"
          data-testid="setting-launch-at-login"
          checked={settings.launchAtLogin}
          onChange={(e) => { setSettings({ ...settings, launchAtLogin: e.target.checked, launchAtLoginOffered: true }); }}
        />
        <span>
          <strong>Start Ferry when I log in</strong>
          <span className="muted small"> It starts in the tray and keeps your accounts connected.</span>
        </span>
      </label>
      <div className="field">
        <label htmlFor="setting-mail-months">Keep mail from</label>
        <select
          id="setting-mail-months"
          data-testid="setting-mail-months"
          aria-describedby="mail-months-help"
          value={settings.mailMonths}
          onChange={(e) => { setSettings({ ...settings, mailMonths: Number(e.target.value) }); }}
        >
          {MAIL_MONTHS.map(([months, label]) => (
            <option key={months} value={months}>
              {label}
            </option>
          ))}
        </select>
        <span id="mail-months-help" className="muted small">
          Going further back fetches the older mail in the background. Going less far keeps
          what Ferry already has.
        </span>
      </div>
      <UpdateSettings />
      <SupportSection />
      {error !== null && (
        <p className="small error-text" role="alert">
          {error.message}
        </p>
      )}
      <div className="dialog-actions">
        <Dialog.Close asChild>
          <button type="button" className="button">
            Cancel
          </button>
        </Dialog.Close>
        <button type="submit" className="button primary" data-testid="settings-save">
          Save
        </button>
      </div>
    </form>
  );
}

type Copy =
  | { state: "idle" }
  | { state: "working" }
  | { state: "done"; text: string; copied: boolean }
  | { state: "failed"; error: AppError };

/** "Copy diagnostics": a report for support, with what was copied there to read. */
function SupportSection() {
  const api = useApi();
  const [copy, setCopy] = useState<Copy>({ state: "idle" });
  const run = async () => {
    setCopy({ state: "working" });
    const result = await call(() => api.copyDiagnostics());
    setCopy(
      result.status === "ok"
        ? { state: "done", text: result.data.text, copied: result.data.copied }
        : { state: "failed", error: result.error },
    );
  };
  return (
    <fieldset className="support" aria-describedby="support-help">
      <legend>Support</legend>
      <p id="support-help" className="muted small">
        Versions, your system, each account’s provider and connection health, and Ferry’s
        recent log. No addresses, passwords or tokens.
      </p>
      <div>
        <button
          type="button"
          className="button"
          data-testid="copy-diagnostics"
          disabled={copy.state === "working"}
          onClick={() => void run()}
        >
          {copy.state === "working" ? "Preparing…" : "Copy diagnostics"}
        </button>
      </div>
      <p className="small" role="status" data-testid="diagnostics-status">
        {copy.state === "done" &&
          (copy.copied
            ? "Copied. Paste it into your message to support."
            : "Ferry could not use the clipboard. Select the text below and copy it.")}
      </p>
      {copy.state === "failed" && (
        <p className="small error-text" role="alert">
          {copy.error.message}
        </p>
      )}
      {copy.state === "done" && (
        <details open={!copy.copied}>
          <summary>What was copied</summary>
          <textarea
            className="diagnostics-text"
            data-testid="diagnostics-text"
            aria-label="Diagnostics"
            readOnly
            rows={8}
            value={copy.text}
          />
        </details>
      )}
    </fieldset>
  );
}
