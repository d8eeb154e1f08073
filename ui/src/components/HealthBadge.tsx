import type { HealthView } from "../api";
import { timeAgo } from "./providers";

const DAY_MS = 86_400_000;

/** Days until the provider ends the grant, when that is within a week. */
export function daysLeft(health: HealthView, now: number = Date.now()): number | null {
  if (health.grantExpiresAt === null || health.state !== "healthy") return null;
  const left = Date.parse(health.grantExpiresAt) - now;
  if (left <= 0 || left > 7 * DAY_MS) return null;
  return Math.max(1, Math.ceil(left / DAY_MS));
}

/** The connection's state in a word or two, with the details in the tooltip. */
export function HealthBadge({ health }: { health: HealthView }) {
  const days = daysLeft(health);
  const [label, tone, title] = ((): [string, string, string] => {
    switch (health.state) {
      case "healthy":
        return days !== null
          ? [`Needs sign-in in ${days} day${days === 1 ? "" : "s"}`, "warning", "The provider ends this permission soon; Reconnect to keep it working."]
          : ["Connected", "ok", health.lastRefreshAt !== null ? `Access renewed ${timeAgo(health.lastRefreshAt)}` : ""];
      case "working":
        return ["Working…", "muted", "Renewing access now"];
      case "retrying":
        return [
          "Retrying",
          "warning",
          `Since ${timeAgo(health.since)}${health.nextTryAt !== null ? `; next try ${new Date(health.nextTryAt).toLocaleTimeString()}` : ""}. ${health.help?.summary ?? ""}`,
        ];
      case "needsSignIn":
        return ["Needs sign-in", "danger", health.help?.summary ?? ""];
      case "paused":
        return ["Paused", "muted", "Paused by you"];
    }
  })();
  return (
    <span className={`health health-${tone}`} data-testid="health" data-state={health.state} title={title}>
      {label}
    </span>
  );
}
