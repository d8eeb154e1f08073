import type { Provider, ServiceView } from "../api";

export const PROVIDER_NAMES: Record<Provider, string> = {
  google: "Google",
  microsoft: "Microsoft",
};

export const SERVICE_NAMES: Record<ServiceView["service"], string> = {
  mail: "Mail",
  calendar: "Calendar",
  contacts: "Contacts",
};

export type ServiceState = "on" | "notGranted" | "off";

/** On (wanted and granted), Not granted (wanted, but the provider said no), or Off. */
export function serviceState(service: ServiceView): ServiceState {
  if (!service.requested) return "off";
  return service.granted ? "on" : "notGranted";
}

export const SERVICE_STATE_LABELS: Record<ServiceState, string> = {
  on: "On",
  notGranted: "Not granted",
  off: "Off",
};

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "just now", "5 minutes ago", "yesterday", … for a past moment. */
export function timeAgo(iso: string, now: number = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (Math.abs(seconds) < 45) return "just now";
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["minute", 60],
    ["hour", 3600],
    ["day", 86400],
    ["month", 2_592_000],
    ["year", 31_536_000],
  ];
  let chosen: [Intl.RelativeTimeFormatUnit, number] = ["minute", 60];
  for (const unit of units) {
    if (Math.abs(seconds) >= unit[1]) chosen = unit;
  }
  return relative.format(Math.round(seconds / chosen[1]), chosen[0]);
}
