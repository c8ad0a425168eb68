// A real Kubernetes control plane for tests: etcd, kube-apiserver (Node and RBAC authorization,
// NodeRestriction admission and the built-in ValidatingAdmissionPolicy, TLS verified against a CA
// made per run, a client certificate of its own towards kubelets), kube-controller-manager
// and kube-scheduler, each in its own process group on free loopback ports, plus kubectl and
// helm of matching versions. Build the binaries first with `npm run dev:build-cluster`.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BackgroundProcess } from "./backgroundProcess.js";
import { binaries, missingBinaries } from "./binaries.js";
import { createClusterCertificates, KUBELET_CLIENT_USER } from "./certificates.js";
import { runCommand, type CommandOutput } from "./commands.js";
import {
  CONTROL_PLANE_IDENTITIES,
  nodeIdentity,
  writeCredentials,
  type Credential,
  type Identity,
} from "./credentials.js";
import { freePort, httpsGet, httpsPostJson, LOOPBACK } from "./network.js";

export interface ControlPlaneOptions {
  /** Run directory (certificates, kubeconfigs, etcd data, logs); a fresh temp dir by default, removed on stop. */
  dir?: string;
  /** Node names to issue kubelet identities for (`system:node:<name>` in `system:nodes`). */
  nodes?: string[];
  /**
   * The node lifecycle controller's timing, for outage tests: how long a node's heartbeat may be
   * missing before it is not Ready (40 s by default), checked every second, and how many nodes a
   * second it may taint for eviction (0.1 by default).
   */
  nodeLifecycle?: { monitorGracePeriodSeconds: number; evictionRatePerSecond?: number };
  /**
   * Requests a second the controller-manager and the scheduler may send the apiserver (burst twice
   * that); their defaults (20 and 50) by default. The ReplicaSet controller creates pods at this pace.
   */
  clientQps?: number;
}

export interface ControlPlane {
  dir: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** Kubeconfig of a cluster-admin (`system:masters`) that verifies the server against caCertPath. */
  kubeconfigPath: string;
  adminToken: string;
  caCertPath: string;
  /** The CA's private key, for tests that issue their own certificates (e.g. a kubelet serving certificate). */
  caKeyPath: string;
  /** Kubelet credentials per node name given in options.nodes. */
  nodeCredentials: Record<string, Credential>;
  kubectl(args: string[], input?: string): Promise<CommandOutput>;
  helm(args: string[], input?: string): Promise<CommandOutput>;
  /** The ids of its running processes (etcd, apiserver, controller-manager, scheduler), for their CPU. */
  processIds(): number[];
  /** Stops every process (SIGTERM, then SIGKILL) and removes the temp dir it created. */
  stop(): Promise<void>;
}

const SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16";
const KUBERNETES_SERVICE_IP = "10.96.0.1";
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
/** Controllers the connector's tests rely on: tokens and service accounts for pods, Deployments
 *  to ReplicaSets to pods, owner-reference cleanup, and node heartbeats (NotReady, eviction). */
const CONTROLLERS = [
  "serviceaccount-token-controller",
  "serviceaccount-controller",
  "root-ca-certificate-publisher-controller",
  "namespace-controller",
  "garbage-collector-controller",
  "deployment-controller",
  "replicaset-controller",
  "node-lifecycle-controller",
  "taint-eviction-controller",
  "pod-garbage-collector-controller",
];
const READY_POLL_MS = 100;
const READY_ATTEMPTS = 600; // 60 s: the apiserver is ready in about 2 s on a 2-core machine

export class ControlPlaneStartError extends Error {
  override name = "ControlPlaneStartError";
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const missing = missingBinaries();
  if (missing.length > 0) {
    throw new ControlPlaneStartError(
      `control-plane binaries missing (${missing.join(", ")}): run \`npm run dev:build-cluster\``,
    );
  }
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), "kube-control-plane-")));
  await mkdir(dir, { recursive: true });
  const processes: BackgroundProcess[] = [];
  const startProcess = (name: string, file: string, args: string[]) => {
    const started = new BackgroundProcess(name, file, args, path.join(dir, `${name}.log`));
    processes.push(started);
    return started;
  };
  const stopAll = async () => {
    // Reverse start order: clients before the apiserver, the apiserver before etcd.
    for (const started of [...processes].reverse()) await started.stop();
  };

  try {
    const [etcdClientPort, etcdPeerPort, apiserverPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    const server = `https://${LOOPBACK}:${apiserverPort}`;
    const certs = await createClusterCertificates(dir, KUBERNETES_SERVICE_IP);
    const nodeNames = options.nodes ?? [];
    const identities: Record<string, Identity> = { ...CONTROL_PLANE_IDENTITIES };
    for (const nodeName of nodeNames) identities[`node-${nodeName}`] = nodeIdentity(nodeName);
    const { tokenFilePath, credentials } = await writeCredentials(dir, server, certs.caCertPath, identities);
    const credential = (name: string): Credential => {
      const found = credentials[name];
      if (!found) throw new Error(`no credential ${name}`);
      return found;
    };
    const admin = credential("admin");

    const etcdUrl = `http://${LOOPBACK}:${etcdClientPort}`;
    const etcdPeerUrl = `http://${LOOPBACK}:${etcdPeerPort}`;
    const etcd = startProcess("etcd", binaries.etcd, [
      "--name=test",
      `--data-dir=${path.join(dir, "etcd-data")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${etcdPeerUrl}`,
      `--initial-advertise-peer-urls=${etcdPeerUrl}`,
      `--initial-cluster=test=${etcdPeerUrl}`,
      // Throwaway data: durability is not worth the fsync latency on a shared disk.
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    // The apiserver would retry etcd on its own, but a dead etcd is clearer reported as such.
    await waitUntil("etcd /health answers ok", [etcd], async () => {
      const response = await fetch(`${etcdUrl}/health`).catch(() => undefined);
      return response?.ok === true;
    });

    const apiserver = startProcess("kube-apiserver", binaries.kube, [
      "kube-apiserver",
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${apiserverPort}`,
      `--cert-dir=${path.join(dir, "apiserver-certs")}`,
      `--tls-cert-file=${certs.apiserverCertPath}`,
      `--tls-private-key-file=${certs.apiserverKeyPath}`,
      `--client-ca-file=${certs.caCertPath}`,
      // what it presents to kubelets when it proxies kubectl logs and exec (their client CA is ours)
      `--kubelet-client-certificate=${certs.kubeletClientCertPath}`,
      `--kubelet-client-key=${certs.kubeletClientKeyPath}`,
      `--token-auth-file=${tokenFilePath}`,
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      // as kubeadm and managed clusters do: whether a privileged pod may run is the fleet policy's call
      "--allow-privileged=true",
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${certs.serviceAccountPublicKeyPath}`,
      `--service-account-signing-key-file=${certs.serviceAccountPrivateKeyPath}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      "--profiling=false",
    ]);

    const caCert = await readFile(certs.caCertPath, "utf8");
    await waitUntil("kube-apiserver /readyz answers ok", [etcd, apiserver], async () => {
      const probe = await httpsGet(`${server}/readyz`, caCert, admin.token);
      return probe.status === 200;
    });

    // As kubeadm does: the apiserver's kubelet client may use every kubelet API (a kubelet asks the
    // apiserver, by SubjectAccessReview, whether it may).
    const binding = await httpsPostJson(
      `${server}/apis/rbac.authorization.k8s.io/v1/clusterrolebindings`,
      caCert,
      admin.token,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: KUBELET_CLIENT_USER },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "system:kubelet-api-admin",
        },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: KUBELET_CLIENT_USER }],
      },
    );
    if (binding.status !== 201)
      throw new Error(
        `binding ${KUBELET_CLIENT_USER} to system:kubelet-api-admin: ${binding.status} ${binding.body}`,
      );

    const clientRate =
      options.clientQps === undefined
        ? []
        : [`--kube-api-qps=${options.clientQps}`, `--kube-api-burst=${options.clientQps * 2}`];
    // secure-port=0: the tests need neither component's own HTTPS endpoint.
    const controllerManager = startProcess("kube-controller-manager", binaries.kube, [
      "kube-controller-manager",
      `--kubeconfig=${credential("controllerManager").kubeconfigPath}`,
      "--secure-port=0",
      "--leader-elect=false",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${certs.serviceAccountPrivateKeyPath}`,
      `--root-ca-file=${certs.caCertPath}`,
      `--controllers=${CONTROLLERS.join(",")}`,
      ...(options.nodeLifecycle
        ? [
            `--node-monitor-grace-period=${options.nodeLifecycle.monitorGracePeriodSeconds}s`,
            "--node-monitor-period=1s",
            `--node-eviction-rate=${options.nodeLifecycle.evictionRatePerSecond ?? 0.1}`,
          ]
        : []),
      ...clientRate,
    ]);
    const scheduler = startProcess("kube-scheduler", binaries.kube, [
      "kube-scheduler",
      `--kubeconfig=${credential("scheduler").kubeconfigPath}`,
      "--secure-port=0",
      "--leader-elect=false",
      ...clientRate,
    ]);

    // Pods can only be created once their namespace's default service account exists, so that
    // account is the sign that the controller-manager is at work.
    await waitUntil(
      "the controller-manager creates default/default service account",
      [etcd, apiserver, controllerManager, scheduler],
      async () => {
        const probe = await httpsGet(
          `${server}/api/v1/namespaces/default/serviceaccounts/default`,
          caCert,
          admin.token,
        );
        return probe.status === 200;
      },
    );

    const nodeCredentials: Record<string, Credential> = {};
    for (const nodeName of nodeNames) nodeCredentials[nodeName] = credential(`node-${nodeName}`);
    const helmHome = path.join(dir, "helm");
    const helmEnv = {
      ...process.env,
      KUBECONFIG: admin.kubeconfigPath,
      HELM_CACHE_HOME: path.join(helmHome, "cache"),
      HELM_CONFIG_HOME: path.join(helmHome, "config"),
      HELM_DATA_HOME: path.join(helmHome, "data"),
    };
    let stopped = false;
    return {
      dir,
      server,
      kubeconfigPath: admin.kubeconfigPath,
      adminToken: admin.token,
      caCertPath: certs.caCertPath,
      caKeyPath: certs.caKeyPath,
      nodeCredentials,
      kubectl: (args, input) =>
        runCommand(binaries.kube, ["kubectl", `--kubeconfig=${admin.kubeconfigPath}`, ...args], {
          input,
          displayName: `kubectl ${args.join(" ")}`,
        }),
      helm: (args, input) =>
        runCommand(binaries.helm, args, { env: helmEnv, input, displayName: `helm ${args.join(" ")}` }),
      processIds: () => processes.flatMap((started) => (started.pid === undefined ? [] : [started.pid])),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stopAll();
        if (ownsDir) await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    const logs = processes
      .map((started) => `--- ${started.name} (${started.logPath}) ---\n${started.logTail()}`)
      .join("\n");
    await stopAll();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ControlPlaneStartError(`control plane failed to start: ${reason}\n${logs}`, { cause: error });
  }
}

/** Polls `check` until it holds; fails early, naming the process, if one of `watched` exits. */
async function waitUntil(
  what: string,
  watched: BackgroundProcess[],
  check: () => Promise<boolean>,
): Promise<void> {
  for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
    const exited = watched.find((started) => !started.isRunning);
    if (exited) throw new Error(`${exited.name} exited while waiting until ${what}`);
    if (await check()) return;
    await sleep(READY_POLL_MS);
  }
  throw new Error(`gave up waiting until ${what} (${(READY_ATTEMPTS * READY_POLL_MS) / 1000} s)`);
}
