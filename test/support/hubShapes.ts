// The JSON shapes tests read back from the hub (as the simulator and IoT Hub return them), typed so
// assertions stay checked by the compiler.
import type iothub from "azure-iothub";

export type ConfigurationInput = Parameters<iothub.Registry["addConfiguration"]>[0];

export interface ReportedModule {
  runtimeStatus: string;
  statusDescription: string;
  exitCode: number;
  restartCount: number;
  lastStartTimeUtc: string;
  lastExitTimeUtc: string;
  lastRestartTimeUtc: string;
  status: string;
  restartPolicy: string;
  type: string;
  settings: { image: string };
}

export interface EdgeAgentTwin {
  deviceId: string;
  moduleId: string;
  configurations?: Record<string, { status: string }>;
  properties: {
    desired: { $version: number; modules: Record<string, { settings: { image: string } }> };
    reported: {
      lastDesiredStatus: { code: number; description: string };
      lastDesiredVersion?: number;
      modules?: Record<string, ReportedModule>;
      systemModules: Record<string, ReportedModule>;
    };
  };
}

export interface DeviceTwin {
  deviceId: string;
  etag: string;
  version: number;
  tags: Record<string, unknown>;
  connectionState: string;
  capabilities: { iotEdge: boolean };
}

export interface MetricSet {
  results: Record<string, number>;
  queries: Record<string, string>;
}

export interface ConfigurationBody {
  id: string;
  etag: string;
  priority: number;
  schemaVersion: string;
  targetCondition: string;
  createdTimeUtc: string;
  labels: Record<string, string>;
  content: { modulesContent: Record<string, Record<string, EdgeAgentDesired>> };
  systemMetrics: MetricSet;
  metrics: MetricSet;
}

export interface EdgeAgentDesired {
  modules: Record<string, { settings: { image: string } }>;
}

export interface MethodResult {
  status: number;
  payload: unknown;
}

export interface ModuleLogs {
  name: string;
  payload: string;
}
