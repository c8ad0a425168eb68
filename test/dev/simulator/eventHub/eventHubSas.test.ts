import { describe, expect, it } from "vitest";
import { audiencePath, checkSasToken, pathCovers } from "../../../../dev/simulator/eventHubSas.js";
import { inAnHour, sasToken } from "./sasToken.js";

const key = { keyName: "service", key: "c2VjcmV0LWtleQ==" };
const audience = "sb://127.0.0.1:5672/contoso-hub/$management";

describe("shared access signature checks", () => {
  it("accepts a token signed with the hub's key and returns its audience and expiry", () => {
    const expiry = inAnHour();
    expect(checkSasToken(sasToken(audience, "service", key.key, expiry), key)).toEqual({
      ok: true,
      audience,
      expiresOn: new Date(expiry * 1000),
    });
  });

  it("refuses a token signed with another key without echoing either key", () => {
    const check = checkSasToken(sasToken(audience, "service", "other-key", inAnHour()), key);
    expect(check).toMatchObject({ ok: false, condition: "amqp:unauthorized-access" });
    expect(JSON.stringify(check)).toMatch(/signature does not match/);
    expect(JSON.stringify(check)).not.toMatch(/other-key|c2VjcmV0/);
  });

  it("refuses a token of another key name", () => {
    expect(checkSasToken(sasToken(audience, "device", key.key, inAnHour()), key)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/key name/),
    });
  });

  it("refuses an expired token", () => {
    const past = Math.floor(Date.now() / 1000) - 1;
    expect(checkSasToken(sasToken(audience, "service", key.key, past), key)).toMatchObject({
      ok: false,
      reason: "the token has expired",
    });
  });

  it("refuses a token whose audience was altered after signing", () => {
    const token = sasToken(audience, "service", key.key, inAnHour()).replace("contoso-hub", "other-hub");
    expect(checkSasToken(token, key)).toMatchObject({ ok: false });
  });

  it("refuses things that are not tokens", () => {
    expect(checkSasToken(undefined, key)).toMatchObject({ ok: false });
    expect(checkSasToken("Bearer abc", key)).toMatchObject({ ok: false });
    expect(checkSasToken("SharedAccessSignature sr=a&se=1", key)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/lacks/),
    });
  });
});

describe("audience paths", () => {
  it("strips scheme, host and trailing slash and ignores case", () => {
    expect(audiencePath("sb://127.0.0.1:5672/Contoso-Hub/ConsumerGroups/$Default/Partitions/0/")).toBe(
      "contoso-hub/consumergroups/$default/partitions/0",
    );
    expect(audiencePath("sb://127.0.0.1:5672/")).toBe("");
  });

  it("lets a hub token cover its partitions but not a hub whose name merely starts the same", () => {
    expect(pathCovers("contoso-hub", "contoso-hub/consumergroups/$default/partitions/0")).toBe(true);
    expect(pathCovers("contoso-hub", "contoso-hub-2/consumergroups/$default/partitions/0")).toBe(false);
    expect(pathCovers("", "anything")).toBe(true);
  });
});
