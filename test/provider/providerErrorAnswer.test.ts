import { describe, expect, it } from "vitest";
import { HubNotFoundError } from "../../lib/hub/hubErrors.js";
import { errorAnswer } from "../../lib/provider/providerErrorAnswer.js";
import { notFound } from "../../lib/provider/providerErrors.js";

const accountKey = "c2VjcmV0LWtleS1vZi10aGUtc3RvcmFnZS1hY2NvdW50";

describe("errorAnswer", () => {
  it("answers a provider error with its own status and body", () => {
    const answer = errorAnswer(notFound("PodNotFound", "pod default/a is not known"), "inv-1");
    expect(answer).toEqual({
      status: 404,
      body: { error: { code: "PodNotFound", message: "pod default/a is not known" } },
    });
  });

  it("answers a hub's not-found with 404 NotFoundOnHub", () => {
    const error = new HubNotFoundError({
      operation: "read",
      target: 'device "dev-9"',
      reason: "not found",
      statusCode: 404,
      attempts: 1,
    });
    const answer = errorAnswer(error, "inv-1");
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe("NotFoundOnHub");
  });

  it("answers an unexpected error 500 naming the invocation, with no detail of the error in the body", () => {
    const error = new Error(
      `table request failed for DefaultEndpointsProtocol=https;AccountName=app;AccountKey=${accountKey}; at /Tables?sig=abc123`,
    );
    const answer = errorAnswer(error, "inv-42");
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe("InternalError");
    expect(answer.body.error.message).toContain("inv-42");
    expect(JSON.stringify(answer.body)).not.toMatch(/AccountKey|sig=|table request/);
  });

  it("logs an unexpected error's message with its secrets redacted", () => {
    const answer = errorAnswer(new Error(`AccountKey=${accountKey};`), "inv-1");
    expect(answer.logMessage).toContain("AccountKey=");
    expect(answer.logMessage).not.toContain(accountKey);
  });
});
