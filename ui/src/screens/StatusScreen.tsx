// The service dashboard: every account and service, how it is doing, when it last synced,
// what it holds, what it spent today, and Sync now / Pause for each.
import { useCallback, useEffect, useState } from "react";
import { call, subscribe, useApi, type AccountView, type AppError, type MailStatus, type Service } from "../api";
import { HealthBadge } from "../components/HealthBadge";
import { PROVIDER_NAMES, SERVICE_NAMES, timeAgo } from "../components/providers";
import { useNotices } from "../components/Notices";
import { mailState } from "../components/mailFormat";

type Load =
  | { state: "loading" }
  | { state: "failed"; error: AppError }
  | { state: "ready"; accounts: AccountView[]; mail: MailStatus[] };

export function StatusScreen() {
  const api = useApi();
  const notify = useNotices();
  const [load, setLoad] = useState<Load>({ state: "loading" });
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => { setGeneration((g) => g + 1); }, []);

  useEffect(() => {
    let current = true;
    void Promise.all([call(() => api.listAccounts()), call(() => api.mailStatus())]).then(([accounts, mail]) => {
      if (!current) return;
      if (accounts.status === "error") setLoad({ state: "failed", error: accounts.error });
      else if (mail.status === "error") setLoad({ state: "failed", error: mail.error });
      else setLoad({ state: "ready", accounts: accounts.data, mail: mail.data });
    });
    return () => { current = false; };
  }, [api, generation]);
  useEffect(() => subscribe(() => api.onAccountsChanged(reload)), [api, reload]);
  useEffect(() => subscribe(() => api.onMailChanged(reload)), [api, reload]);

  const pause = async (account: AccountView, service: Service, paused: boolean) => {
    const result = await call(() => api.setServicePaused(account.id, service, paused));
    if (result.status === "error") notify({ level: "error", message: result.error.message });
    reload();
  };

  const syncNow = async (account: AccountView, service: Service) => {
    const result = await call(() => api.syncServiceNow(account.id, service));
    if (result.status === "error") notify({ level: "error", message: result.error.message });
  };

  const decide = async (account: AccountView, service: Service, remove: boolean) => {
    const result = await call(() => api.decideRemovals(account.id, service, remove));
    if (result.status === "error") notify({ level: "error", message: result.error.message });
    else notify({ level: "info", message: remove ? "Ferry is removing them." : "Ferry keeps its copies; sync goes on." });
    reload();
  };

  return (
    <main className="status-screen" aria-labelledby="status-title" data-testid="status-screen">
      <div className="screen-header">
        <h1 id="status-title">Status</h1>
        <button
          type="button"
          className="button"
          data-testid="status-sync-now"
          title="Check every connection and sync every service now"
          onClick={() => void call(() => api.checkNow())}
        >
          Sync everything now
        </button>
      </div>
      {load.state === "loading" && <p className="muted" aria-busy="true">Loading…</p>}
      {load.state === "failed" && (
        <div className="panel error" role="alert">
          <p>Ferry could not load the status: {load.error.message}</p>
          <button type="button" className="button" onClick={reload}>Try again</button>
        </div>
      )}
      {load.state === "ready" && load.accounts.length === 0 && (
        <p className="muted" data-testid="status-empty">No accounts yet: add one on the Accounts screen.</p>
      )}
      {load.state === "ready" &&
        load.accounts.map((account) => {
          const mail = load.mail.find((m) => m.accountId === account.id);
          return (
            <section key={account.id} className="status-account" aria-label={account.email} data-testid="status-account">
              <div className="status-account-header">
                <h2>{account.email}</h2>
                <span className="muted">{PROVIDER_NAMES[account.provider]}</span>
                <HealthBadge health={account.health} />
              </div>
              <table className="status-table">
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">State</th>
                    <th scope="col">Last sync</th>
                    <th scope="col">Items</th>
                    <th scope="col">Used today</th>
                    <th scope="col"><span className="visually-hidden">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  {account.services.map((service) => {
                    const name = SERVICE_NAMES[service.service];
                    if (!service.requested || !service.granted) {
                      return (
                        <tr key={service.service}>
                          <th scope="row">{name}</th>
                          <td colSpan={5} className="muted">{service.requested ? "Access not granted" : "Off"}</td>
                        </tr>
                      );
                    }
                    if (service.service !== "mail") {
                      return (
                        <tr key={service.service}>
                          <th scope="row">{name}</th>
                          <td colSpan={5} className="muted">Connected; Ferry does not sync {name.toLowerCase()} yet</td>
                        </tr>
                      );
                    }
                    const health = mailState(mail);
                    const units = mail?.quotaUnitsToday ?? 0;
                    const requests = mail?.requestsToday ?? 0;
                    const held = mail?.held != null;
                    return (
                      <tr key={service.service} data-testid="status-mail">
                        <th scope="row">{name}</th>
                        <td>
                          <span className={`status status-${health.tone}`} data-testid="status-state">{health.label}</span>
                          {health.detail !== null && (held || health.tone === "warning") && (
                            <p className="small status-detail" data-testid="status-detail">{health.detail}</p>
                          )}
                          {held && (
                            <div className="status-decision" role="group" aria-label={`Removals waiting for you in ${account.email}`}>
                              <button
                                type="button"
                                className="button small danger"
                                data-testid="status-remove"
                                onClick={() => void decide(account, "mail", true)}
                              >
                                Remove them
                              </button>
                              <button
                                type="button"
                                className="button small"
                                data-testid="status-keep"
                                onClick={() => void decide(account, "mail", false)}
                              >
                                Keep them
                              </button>
                            </div>
                          )}
                        </td>
                        <td>{mail?.lastSyncAt != null ? timeAgo(mail.lastSyncAt) : "Never"}</td>
                        <td data-testid="status-items">
                          {(mail?.messages ?? 0).toLocaleString()} messages, {(mail?.unread ?? 0).toLocaleString()} unread
                        </td>
                        <td data-testid="status-spent">
                          {requests.toLocaleString()} requests
                          {account.provider === "google" ? `, ${units.toLocaleString()} quota units` : ""}
                        </td>
                        <td className="status-actions">
                          <button
                            type="button"
                            className="button small"
                            data-testid="status-sync-service"
                            aria-label={`Sync now, ${name} for ${account.email}`}
                            disabled={mail?.paused === true || held}
                            onClick={() => void syncNow(account, "mail")}
                          >
                            Sync now
                          </button>
                          <button
                            type="button"
                            className="button small"
                            data-testid="status-pause"
                            aria-label={`${mail?.paused === true ? "Resume" : "Pause"} ${name} for ${account.email}`}
                            onClick={() => void pause(account, "mail", mail?.paused !== true)}
                          >
                            {mail?.paused === true ? "Resume" : "Pause"}
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </section>
          );
        })}
    </main>
  );
}
