// Redaction of every invocation's logs and errors (lib/app/redactInvocation.ts).
import { app } from "@azure/functions";
import { redactInvocation } from "../lib/app/redactInvocation.js";

app.hook.preInvocation(redactInvocation);
