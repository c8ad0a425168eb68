// Invokes a registered function the way the Node worker does: through the programming model's
// invocation model, so handlers get the library's own HttpRequest and InvocationContext, and
// pre/post invocation hooks run.
import { randomUUID } from "node:crypto";
import type { FunctionsCore, Registration } from "./functionsCore.js";
import type {
  CoreInvocationContext,
  RpcInvocationRequest,
  RpcInvocationResponse,
  RpcLogCategory,
  RpcLogLevel,
  RpcTypedData,
} from "./functionsCoreTypes.js";

export type InvocationLog = (
  entry: { functionName: string; invocationId: string; level: RpcLogLevel; category: RpcLogCategory },
  message: string,
) => void;

export interface InvocationInput {
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number };
}

export async function invokeFunction(
  core: FunctionsCore,
  registration: Registration,
  input: InvocationInput,
  log: InvocationLog,
): Promise<RpcInvocationResponse> {
  const invocationId = randomUUID();
  const functionName = registration.metadata.name;
  const request: RpcInvocationRequest = { invocationId, functionId: functionName, ...input };
  const coreContext: CoreInvocationContext = {
    invocationId,
    request,
    metadata: registration.metadata,
    log: (level, category, message) => log({ functionName, invocationId, level, category }, message),
  };
  const model = core.getProgrammingModel().getInvocationModel(coreContext);
  const { context, inputs } = await model.getArguments();
  const hookData = {};
  const appHookData = {};

  coreContext.state = "preInvocationHooks";
  const pre = {
    invocationContext: context,
    inputs,
    functionCallback: registration.callback,
    hookData,
    appHookData,
  };
  await core.runHooks("preInvocation", pre);

  coreContext.state = "invocation";
  let result: unknown;
  let error: unknown;
  try {
    result = await model.invokeFunction(context, pre.inputs, pre.functionCallback);
  } catch (thrown) {
    error = thrown;
  }

  coreContext.state = "postInvocationHooks";
  const post = { invocationContext: context, inputs: pre.inputs, result, error, hookData, appHookData };
  await core.runHooks("postInvocation", post);
  if (post.error !== undefined && post.error !== null) throw post.error as Error;
  return model.getResponse(context, post.result);
}

/** The value a typed datum carries, as the library's own converter reads it. */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.json !== undefined && data.json !== null) return JSON.parse(data.json);
  if (data.string !== undefined && data.string !== null) return data.string;
  if (data.bytes) return Buffer.from(data.bytes);
  if (data.int !== undefined && data.int !== null) return data.int;
  if (data.double !== undefined && data.double !== null) return data.double;
  return undefined;
}

/** The datum for a JSON-able value (durable payloads travel as JSON). */
export function jsonData(value: unknown): RpcTypedData {
  return { json: JSON.stringify(value ?? null) };
}
