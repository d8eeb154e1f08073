// Small helpers the inbox's list and reading pane share: dates, sizes, account colours.
import type { AccountView, MailStatus } from "../api";

/**
 * Each account's colour, by its place in the account list. Mid-tone colours that stay at
 * least 3:1 against both the light and the dark surface (they mark, the text names).
 */
const PALETTE = ["#2f6fd0", "#c2410c", "#15803d", "#9333ea", "#be185d", "#0e7490"];

export function accountColor(accounts: AccountView[], accountId: string): string {
  const index = accounts.findIndex((a) => a.id === accountId);
  return PALETTE[(index < 0 ? 0 : index) % PALETTE.length] ?? "#2f6fd0";
}

export function accountLabel(accounts: AccountView[], accountId: string): string {
  return accounts.find((a) => a.id === accountId)?.email ?? "a removed account";
}

/** Today: the time; this year: day and month; earlier: with the year. */
export function shortDate(iso: string, now: Date = new Date()): string {
  const date = new Date(iso);
  if (date.toDateString() === now.toDateString()) {
    return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }
  if (date.getFullYear() === now.getFullYear()) {
    return date.toLocaleDateString(undefined, { day: "numeric", month: "short" });
  }
  return date.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

export function longDate(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "full", timeStyle: "short" });
}

export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${String(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** "Ada Lovelace" or, without a name, the address. */
export function person(name: string, address: string): string {
  return name.trim() !== "" ? name : address !== "" ? address : "(no sender)";
}

/** A mail service's state, worded once for the inbox's sidebar and the Status screen. */
export interface MailState {
  label: string;
  tone: "ok" | "warning" | "muted";
  /** The line under the label, when there is more to say. */
  detail: string | null;
}

export function mailState(status: MailStatus | undefined): MailState {
  if (status?.paused === true) return { label: "Paused", tone: "muted", detail: null };
  if (status?.held != null) {
    const { removing, of } = status.held;
    return {
      label: "Waiting for you",
      tone: "warning",
      detail: `The provider no longer has ${removing.toLocaleString()} of your ${of.toLocaleString()} messages. Ferry stopped before removing them.`,
    };
  }
  if (status === undefined || !status.started) return { label: "Waiting to sync", tone: "muted", detail: null };
  const count = status.messages.toLocaleString();
  if (status.lastError != null) return { label: "Behind", tone: "warning", detail: status.lastError };
  return status.caughtUp
    ? { label: "Up to date", tone: "ok", detail: `${count} messages` }
    : { label: "Syncing", tone: "ok", detail: `${count} messages so far` };
}
