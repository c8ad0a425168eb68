// The adapter's logger: JSON lines (pino) in which no secret survives. Field names that hold
// secrets are censored, and every finished line passes through redact(), so a key, token or
// password that slipped into a message or an error (in any of the shapes redact knows) is removed
// before the line is written.
import { pino, type DestinationStream, type Logger } from "pino";
import { redact } from "../hub/redact.js";

export function createAdapterLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: {
      paths: ["functionKey", "*.functionKey", "headers", "*.headers", "token", "*.token"],
      censor: "[REDACTED]",
    },
    hooks: { streamWrite: (line: string) => redact(line) },
  };
  return destination ? pino(options, destination) : pino(options);
}
