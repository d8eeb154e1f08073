// An account's sync log: each run that brought changes, failed, or started over, with
// what it did and what it spent.
import { useEffect, useState } from "react";
import { call, useApi, type SyncRunView } from "../api";
import { SERVICE_NAMES } from "./providers";

const KINDS: Record<string, string> = {
  full: "Full sync",
  incremental: "Update",
  reset: "Full resync",
  deeper: "Older mail",
};

export function SyncLog({ accountId, generation }: { accountId: string; generation: unknown }) {
  const api = useApi();
  const [runs, setRuns] = useState<SyncRunView[] | null>(null);

  useEffect(() => {
    let current = true;
    void call(() => api.syncLog(accountId)).then((r) => {
      if (current && r.status === "ok") setRuns(r.data);
    });
    return () => { current = false; };
  }, [api, accountId, generation]);

  return (
    <section aria-labelledby="sync-log-title">
      <h2 id="sync-log-title">Sync log</h2>
      {runs === null ? (
        <p className="muted" aria-busy="true">Loading…</p>
      ) : runs.length === 0 ? (
        <p className="muted" data-testid="sync-log-empty">Nothing synced yet.</p>
      ) : (
        // Scrolls on its own when long: focusable, so the keyboard can scroll it too.
        <div className="sync-log-scroll" tabIndex={0} role="region" aria-labelledby="sync-log-title">
        <table className="sync-log" data-testid="sync-log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Added</th>
              <th scope="col">Changed</th>
              <th scope="col">Removed</th>
              <th scope="col">Requests</th>
              <th scope="col">Quota units</th>
            </tr>
          </thead>
          <tbody>
            {runs.map((run) => (
              <tr key={`${run.service}-${run.startedAt}`} data-testid="sync-run">
                <td><time dateTime={run.startedAt}>{new Date(run.startedAt).toLocaleString()}</time></td>
                <td>
                  {SERVICE_NAMES[run.service]}: {KINDS[run.kind] ?? run.kind}
                  {run.finishedAt === null && " (stopped before the end)"}
                  {run.error !== null && <span className="error-text"> — {run.error}</span>}
                </td>
                <td>{run.added}</td>
                <td>{run.changed}</td>
                <td>{run.removed}</td>
                <td>{run.requests}</td>
                <td>{run.quotaUnits}</td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
    </section>
  );
}
