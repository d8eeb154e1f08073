import { useEffect, useState } from "react";
import { call, useApi, type Settings } from "../api";

/** Asked once, after the first account: should Ferry start at login to keep it connected? */
export function LaunchAtLoginOffer() {
  const api = useApi();
  const [settings, setSettings] = useState<Settings | null>(null);

  useEffect(() => {
    void call(() => api.getSettings()).then((result) => {
      if (result.status === "ok") setSettings(result.data);
    });
  }, [api]);

  if (settings === null || settings.launchAtLoginOffered) return null;

  const answer = async (launchAtLogin: boolean) => {
    const next = { ...settings, launchAtLogin, launchAtLoginOffered: true };
    const result = await call(() => api.setSettings(next));
    setSettings(result.status === "ok" ? result.data : next);
  };

  return (
    <section className="panel info offer" data-testid="launch-at-login-offer" aria-label="Start Ferry at login">
      <p>
        <strong>Start Ferry when you log in?</strong> It waits in the tray and keeps your
        accounts connected, so they never need signing in again by surprise.
      </p>
      <span className="header-actions">
        <button type="button" className="button" onClick={() => void answer(false)}>
          Not now
        </button>
        <button type="button" className="button primary" data-testid="launch-at-login-yes" onClick={() => void answer(true)}>
          Start at login
        </button>
      </span>
    </section>
  );
}
