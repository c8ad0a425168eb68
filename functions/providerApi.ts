// The provider API the in-cluster adapter calls (routes in lib/provider/providerContract.ts).
// The host admits a request with a valid key; the app then finds the virtual node the key belongs to
// (403 for any other key), and each handler parses its request, calls ProviderService as that node
// and writes the answer; errors become the contract's ProviderError body, redacted.
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from "@azure/functions";
import * as df from "durable-functions";
import { connectorApp } from "../lib/app/connectorApp.js";
import { durableWorkflows } from "../lib/app/durableWorkflows.js";
import { nodePodsWait, providerRoutes } from "../lib/provider/providerContract.js";
import { errorAnswer } from "../lib/provider/providerErrorAnswer.js";
import { ProviderHttpError } from "../lib/provider/providerErrors.js";
import { callerOf } from "../lib/provider/providerCaller.js";
import type { NodeIdentity } from "../lib/provider/nodeCredentials.js";
import {
  parseLogsQuery,
  parseNodeName,
  parseNodePodsWait,
  parseNodeReconcile,
  parsePutPod,
  parseUid,
} from "../lib/provider/providerRequests.js";
import type { PodWorkflows, ProviderService } from "../lib/provider/providerService.js";

type Handler = (
  service: ProviderService,
  request: HttpRequest,
  caller: NodeIdentity,
  workflows: PodWorkflows,
) => Promise<HttpResponseInit>;

function param(request: HttpRequest, name: string): string {
  return request.params[name] ?? "";
}

async function jsonBody(request: HttpRequest): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new ProviderHttpError(400, {
      code: "InvalidRequest",
      message: "(body): is not valid JSON",
      field: "(body)",
    });
  }
}

function handle(handler: Handler) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const app = connectorApp();
      const caller = callerOf(app.nodeCredentials, request.headers, request.query);
      const client = df.getClient(context);
      // the scheduler's view read at most once a second per hub: pod statuses show the hub's trouble from it
      const workflows = {
        ...durableWorkflows(client, app.taskHubBacklog),
        schedulerState: (hub: string) => app.schedulerView(client, hub),
      };
      return await handler(app.provider, request, caller, workflows);
    } catch (error) {
      const answer = errorAnswer(error, context.invocationId);
      if (answer.logMessage !== undefined)
        context.error(
          `provider API ${request.method} ${new URL(request.url).pathname} failed: ${answer.logMessage}`,
        );
      return { status: answer.status, jsonBody: answer.body, headers: answer.headers };
    }
  };
}

function register(
  name: string,
  route: string,
  methods: ("GET" | "PUT" | "POST" | "DELETE")[],
  handler: Handler,
) {
  app.http(name, {
    route,
    methods,
    authLevel: "function",
    extraInputs: [df.input.durableClient()],
    handler: handle(handler),
  });
}

register("providerPutPod", providerRoutes.pod, ["PUT"], async (service, request, caller, workflows) => {
  const hub = param(request, "hub");
  const body = parsePutPod(await jsonBody(request), {
    namespace: param(request, "namespace"),
    name: param(request, "name"),
  });
  const result = await service.putPod(workflows, caller, hub, body);
  return { status: result.created ? 201 : 200, jsonBody: result.status };
});

register("providerDeletePod", providerRoutes.pod, ["DELETE"], async (service, request, caller, workflows) => {
  const uid = parseUid(request.query.get("uid"));
  await service.deletePod(
    workflows,
    caller,
    param(request, "hub"),
    param(request, "namespace"),
    param(request, "name"),
    uid,
  );
  return { status: 202 };
});

register(
  "providerPodStatus",
  providerRoutes.podStatus,
  ["GET"],
  async (service, request, caller, workflows) => ({
    jsonBody: await service.podStatus(
      workflows,
      caller,
      param(request, "hub"),
      param(request, "namespace"),
      param(request, "name"),
    ),
  }),
);

register(
  "providerNodePods",
  providerRoutes.nodePods,
  ["GET"],
  async (service, request, caller, workflows) => {
    const node = parseNodeName(param(request, "node"));
    const waitMs = parseNodePodsWait(request.query);
    const list = await service.nodePods(
      workflows,
      caller,
      param(request, "hub"),
      node,
      request.headers.get("if-none-match"),
      waitMs,
    );
    // every answer says that this app waits, so the adapter keeps long-polling instead of polling
    const waits = { [nodePodsWait.header]: String(waitMs / 1000) };
    if (list === undefined) return { status: 304, headers: waits };
    return { jsonBody: list, headers: { etag: `"${list.version}"`, ...waits } };
  },
);

register(
  "providerNodeReconcile",
  providerRoutes.nodeReconcile,
  ["POST"],
  async (service, request, caller, workflows) => {
    const node = parseNodeName(param(request, "node"));
    const body = parseNodeReconcile(await jsonBody(request));
    return { jsonBody: await service.reconcileNode(workflows, caller, param(request, "hub"), node, body) };
  },
);

register("providerContainerLogs", providerRoutes.containerLogs, ["GET"], async (service, request, caller) => {
  const logs = await service.containerLogs(
    caller,
    param(request, "hub"),
    param(request, "namespace"),
    param(request, "name"),
    param(request, "container"),
    parseLogsQuery(request.query),
  );
  return {
    body: logs.lines.map((line) => `${line}\n`).join(""),
    headers: { "content-type": "text/plain; charset=utf-8", "x-device-id": logs.deviceId },
  };
});

register(
  "providerNodeConditions",
  providerRoutes.nodeConditions,
  ["GET"],
  async (service, request, caller, workflows) => {
    const node = parseNodeName(param(request, "node"));
    return { jsonBody: await service.nodeConditions(workflows, caller, param(request, "hub"), node) };
  },
);
