import { describe, expect, it } from "vitest";
import { initials } from "../components/AccountRow";

describe("initials", () => {
  it("takes two words of the name, or the email's first letter", () => {
    expect(initials({ displayName: "ada  king lovelace", email: "x@y" })).toBe("AK");
    expect(initials({ displayName: "  ", email: "grace@y" })).toBe("G");
  });
});
