import { useEffect, useState } from "react";
import { call, subscribe, useApi, type AppError, type UpdateStatus } from "../api";

/** Where updates stand: asked once, then followed as the backend reports. */
export function useUpdateStatus(): UpdateStatus {
  const api = useApi();
  const [status, setStatus] = useState<UpdateStatus>({ state: "idle" });
  useEffect(() => {
    let current = true;
    void api.updateStatus().then((s) => {
      if (current) setStatus(s);
    });
    const stop = subscribe(() => api.onUpdate(setStatus));
    return () => {
      current = false;
      stop();
    };
  }, [api]);
  return status;
}

/** What the Settings line and the banner say about `status`. */
export function describeUpdate(status: UpdateStatus): string {
  switch (status.state) {
    case "idle":
      return "";
    case "checking":
      return "Checking for updates…";
    case "upToDate":
      return "Ferry is up to date.";
    case "ready":
      return `Ferry ${status.version} is downloaded and verified. Restart Ferry to install it.`;
    case "installing":
      return `Installing Ferry ${status.version}; Ferry restarts when it is done…`;
    case "failed":
      return status.message;
  }
}

/**
 * Above the accounts: "Update ready" with a button that installs it on the user's word,
 * or why an update was refused. Nothing otherwise.
 */
export function UpdateBanner() {
  const api = useApi();
  const status = useUpdateStatus();
  const [error, setError] = useState<AppError | null>(null);
  const [dismissed, setDismissed] = useState<string | null>(null);
  const text = describeUpdate(status);

  if (status.state === "ready" || status.state === "installing") {
    return (
      <div className="panel info update-banner" role="status" data-testid="update-ready">
        <p>
          <strong>Update ready.</strong> {text}
        </p>
        {status.state === "ready" && (
          <button
            type="button"
            className="button primary"
            data-testid="update-install"
            onClick={() => {
              void call(() => api.installUpdate()).then((result) => {
                setError(result.status === "error" ? result.error : null);
              });
            }}
          >
            Restart and update
          </button>
        )}
        {error !== null && (
          <p className="small error-text" role="alert">
            {error.message}
          </p>
        )}
      </div>
    );
  }
  if (status.state === "failed" && dismissed !== status.message) {
    return (
      <div className="panel warning update-banner" role="alert" data-testid="update-failed">
        <p>{text}</p>
        <button type="button" className="button" onClick={() => { setDismissed(status.message); }}>
          Dismiss
        </button>
      </div>
    );
  }
  return null;
}

/** Settings: check now, and what the last check found. */
export function UpdateSettings() {
  const api = useApi();
  const status = useUpdateStatus();
  return (
    <fieldset className="support">
      <legend>Updates</legend>
      <div>
        <button
          type="button"
          className="button"
          data-testid="check-updates"
          disabled={status.state === "checking" || status.state === "installing"}
          onClick={() => void api.checkForUpdates()}
        >
          Check for updates
        </button>
      </div>
      <p className="small" role="status" data-testid="update-status">
        {describeUpdate(status)}
      </p>
    </fieldset>
  );
}
