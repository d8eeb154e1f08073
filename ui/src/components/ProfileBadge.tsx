import type { AppStatus } from "../api";

type Profile = AppStatus["info"]["profile"];

const LABELS: Record<Profile, string | null> = {
  release: null,
  dev: "Development build",
  test: "Test run",
};

/** Says plainly when this is not an installed Ferry, so nobody mistakes it for one. */
export function ProfileBadge({ profile }: { profile: Profile }) {
  const label = LABELS[profile];
  if (label === null) {
    return null;
  }
  return (
    <span className="badge" data-testid="profile-badge">
      {label}
    </span>
  );
}
