// One place that invokes the app's functions for every trigger: adds the input bindings the host
// can supply (e.g. the durable client) and routes the app's logs to the host logger.
import type { Logger } from "pino";
import type { FunctionsCore, Registration } from "./functionsCore.js";
import type {
  RpcBindingInfo,
  RpcInvocationResponse,
  RpcLogLevel,
  RpcTypedData,
} from "./functionsCoreTypes.js";
import { invokeFunction, type InvocationInput } from "./invokeFunction.js";
import { retryPolicyOf } from "./retryPolicy.js";

/** Supplies the data of an input binding of one type (e.g. "durableClient"). */
export type InputProvider = (binding: RpcBindingInfo) => RpcTypedData;

const pinoLevel: Record<RpcLogLevel, "trace" | "debug" | "info" | "warn" | "error" | "fatal" | undefined> = {
  trace: "trace",
  debug: "debug",
  information: "info",
  warning: "warn",
  error: "error",
  critical: "fatal",
  none: undefined,
};

export class HostInvoker {
  readonly #core: FunctionsCore;
  readonly #logger: Logger;
  readonly #inputProviders = new Map<string, InputProvider>();
  #stopping = false;

  constructor(core: FunctionsCore, logger: Logger) {
    this.#core = core;
    this.#logger = logger;
  }

  provideInput(bindingType: string, provider: InputProvider): void {
    this.#inputProviders.set(bindingType.toLowerCase(), provider);
  }

  find(functionName: string): Registration | undefined {
    return this.#core.registrations.get(functionName.toLowerCase());
  }

  /** Functions whose trigger binding has the given type, with the trigger binding's name. */
  withTrigger(
    triggerType: string,
  ): { registration: Registration; triggerName: string; trigger: RpcBindingInfo }[] {
    return [...this.#core.registrations.values()].flatMap((registration) =>
      Object.entries(registration.metadata.bindings)
        .filter(([, binding]) => binding.type === triggerType && binding.direction === "in")
        .map(([triggerName, trigger]) => ({ registration, triggerName, trigger })),
    );
  }

  async invoke(
    registration: Registration,
    triggerName: string,
    triggerData: RpcTypedData,
    extra: Pick<InvocationInput, "triggerMetadata" | "retryContext"> = {},
  ): Promise<RpcInvocationResponse> {
    const inputData = [{ name: triggerName, data: triggerData }];
    for (const [name, binding] of Object.entries(registration.metadata.bindings)) {
      if (name === triggerName || binding.direction !== "in") continue;
      const provider = this.#inputProviders.get(String(binding.type).toLowerCase());
      if (provider) inputData.push({ name, data: provider(binding) });
    }
    return invokeFunction(this.#core, registration, { inputData, ...extra }, (entry, message) => {
      const level = pinoLevel[entry.level];
      if (level)
        this.#logger[level]({ function: entry.functionName, invocationId: entry.invocationId }, message);
    });
  }

  /** Ends retry loops (of policies with maxRetryCount -1) when the host stops. */
  stopRetrying(): void {
    this.#stopping = true;
  }

  /**
   * Invokes, and on failure invokes again as the function's retry policy says (timer and Event
   * Hubs triggers); throws the last error when the retries are spent.
   */
  async invokeWithRetries(
    registration: Registration,
    triggerName: string,
    triggerData: RpcTypedData,
    extra: Pick<InvocationInput, "triggerMetadata"> = {},
  ): Promise<RpcInvocationResponse> {
    const policy = retryPolicyOf(registration.metadata);
    for (let retryCount = 0; ; retryCount++) {
      const retryContext = policy ? { retryCount, maxRetryCount: policy.maxRetryCount } : undefined;
      try {
        return await this.invoke(registration, triggerName, triggerData, { ...extra, retryContext });
      } catch (error) {
        const retriesLeft = policy && (policy.maxRetryCount === -1 || retryCount < policy.maxRetryCount);
        if (!policy || !retriesLeft || this.#stopping) throw error;
        this.#logger.warn(
          { function: registration.metadata.name, retryCount: retryCount + 1, err: error },
          "invocation failed; retrying as the function's retry policy says",
        );
        await new Promise((resolve) => setTimeout(resolve, policy.delayMs(retryCount + 1)));
      }
    }
  }
}
