import { useEffect, useState } from "react";
import { subscribe, useApi, type Progress } from "../api";

/** What "Sync now" has done so far, in words. */
export function describeCheck(progress: Progress): string {
  const { done, total } = progress;
  if (total === 0) return "Nothing to check right now: every account is paused or waits for you.";
  const noun = total === 1 ? "connection" : "connections";
  if (done < total) return `Checking ${noun}: ${done} of ${total}…`;
  return `Checked ${total} ${noun}.`;
}

/**
 * A polite live region that follows "Sync now": screen readers hear when checking starts
 * and when it is done, without taking the focus.
 */
export function CheckProgress() {
  const api = useApi();
  const [progress, setProgress] = useState<Progress | null>(null);
  useEffect(
    () =>
      subscribe(() =>
        // Checking connections is the only task today; when sync reports its own, this
        // line keeps to `checkConnections`.
        api.onProgress(setProgress),
      ),
    [api],
  );
  const busy = progress !== null && progress.done < progress.total;
  return (
    <p className="muted small" role="status" aria-busy={busy} data-testid="check-progress">
      {progress === null ? "" : describeCheck(progress)}
    </p>
  );
}
