// Builds Event Hubs shared access signatures the way the SDKs document them, for tests that speak raw AMQP.
import { createHmac } from "node:crypto";

export function sasToken(audience: string, keyName: string, key: string, expiresOnSeconds: number): string {
  const sr = encodeURIComponent(audience);
  const sig = encodeURIComponent(
    createHmac("sha256", key).update(`${sr}\n${expiresOnSeconds}`).digest("base64"),
  );
  return `SharedAccessSignature sr=${sr}&sig=${sig}&se=${expiresOnSeconds}&skn=${encodeURIComponent(keyName)}`;
}

export function inAnHour(): number {
  return Math.floor(Date.now() / 1000) + 3600;
}
