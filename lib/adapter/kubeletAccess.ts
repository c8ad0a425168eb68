// Who may use the kubelet API, decided as a kubelet with anonymous authentication off and webhook
// authentication and authorization decides: a client certificate that chains to the kubelet client
// CA names the user (CN) and groups (O); otherwise a bearer token is checked by TokenReview. No
// credential, or a token the apiserver does not know, is 401. Every authenticated request is then
// put to the apiserver as a SubjectAccessReview on the node object, with the verb of the HTTP method
// and the subresource of the path; not allowed is 403. Answers are remembered for a short while.
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { AuthenticationV1Api, AuthorizationV1Api } from "@kubernetes/client-node";
import { ExpiringCache } from "./expiringCache.js";

export interface KubeletUser {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** What a request asks of the node: verb, and the subresources to try in order (the last is `proxy`). */
export interface NodeRequestAttributes {
  verb: string;
  node: string;
  subresources: string[];
}

export type AccessDecision =
  { allowed: true; user: KubeletUser } | { allowed: false; status: 401 | 403 | 503; message: string };

/** What the kubelet API server asks before it answers a request. */
export interface KubeletAccessCheck {
  decide(request: IncomingMessage): Promise<AccessDecision>;
}

const verbs: Readonly<Record<string, string>> = {
  GET: "get",
  HEAD: "get",
  POST: "create",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/** Paths with a subresource of their own; anything else (container logs, exec, ...) is `proxy`. */
const subresourcePaths: readonly [string, string[]][] = [
  ["/stats", ["stats"]],
  ["/metrics", ["metrics"]],
  ["/logs", ["log"]],
  ["/spec", ["spec"]],
  ["/checkpoint", ["checkpoint"]],
  // fine-grained (KubeletFineGrainedAuthz): the narrow subresource first, then proxy
  ["/pods", ["pods", "proxy"]],
  ["/runningpods", ["pods", "proxy"]],
  ["/healthz", ["healthz", "proxy"]],
  ["/configz", ["configz", "proxy"]],
];

function isUnder(path: string, root: string): boolean {
  return path === root || path.startsWith(`${root}/`);
}

/** The kubelet's mapping of a request to attributes on its Node object. */
export function nodeRequestAttributes(method: string, path: string, node: string): NodeRequestAttributes {
  const found = subresourcePaths.find(([root]) => isUnder(path, root));
  return { verb: verbs[method.toUpperCase()] ?? "", node, subresources: found?.[1] ?? ["proxy"] };
}

/** The user a verified client certificate names: CN is the user, each O a group. */
export function certificateUser(socket: TLSSocket): KubeletUser | undefined {
  if (!socket.authorized) return undefined;
  const certificate = socket.getPeerCertificate();
  const subject = certificate?.subject as { CN?: string | string[]; O?: string | string[] } | undefined;
  const name = [subject?.CN ?? []].flat()[0];
  if (!name) return undefined;
  return { name, groups: [subject?.O ?? []].flat() };
}

function bearerToken(request: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "");
  return match?.[1];
}

const ttl = { authenticated: 120_000, unauthenticated: 10_000, allowed: 300_000, denied: 30_000 };

export class KubeletAccess implements KubeletAccessCheck {
  private readonly tokens = new ExpiringCache<KubeletUser | null>();
  private readonly reviews = new ExpiringCache<boolean>();

  constructor(
    private readonly options: {
      node: string;
      authentication: AuthenticationV1Api;
      authorization: AuthorizationV1Api;
    },
  ) {}

  async decide(request: IncomingMessage): Promise<AccessDecision> {
    const path = new URL(request.url ?? "/", "https://kubelet").pathname;
    let user: KubeletUser | undefined;
    try {
      user = certificateUser(request.socket as TLSSocket) ?? (await this.tokenUser(request));
    } catch {
      return {
        allowed: false,
        status: 503,
        message: "the caller cannot be authenticated now (TokenReview failed)",
      };
    }
    if (user === undefined) return { allowed: false, status: 401, message: "Unauthorized" };
    const attributes = nodeRequestAttributes(request.method ?? "GET", path, this.options.node);
    try {
      for (const subresource of attributes.subresources)
        if (await this.allowed(user, attributes.verb, subresource)) return { allowed: true, user };
    } catch {
      return {
        allowed: false,
        status: 503,
        message: "the request cannot be authorized now (SubjectAccessReview failed)",
      };
    }
    return {
      allowed: false,
      status: 403,
      message: `Forbidden (user=${user.name}, verb=${attributes.verb}, resource=nodes, subresource(s)=[${attributes.subresources.join(", ")}])`,
    };
  }

  private async tokenUser(request: IncomingMessage): Promise<KubeletUser | undefined> {
    const token = bearerToken(request);
    if (token === undefined) return undefined;
    const key = createHash("sha256").update(token).digest("base64url");
    const cached = this.tokens.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const review = await this.options.authentication.createTokenReview({
      body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } },
    });
    const reviewed = review.status?.user;
    const user =
      review.status?.authenticated === true && reviewed?.username
        ? {
            name: reviewed.username,
            groups: reviewed.groups ?? [],
            ...(reviewed.uid ? { uid: reviewed.uid } : {}),
            ...(reviewed.extra ? { extra: reviewed.extra } : {}),
          }
        : null;
    this.tokens.set(key, user, user ? ttl.authenticated : ttl.unauthenticated);
    return user ?? undefined;
  }

  private async allowed(user: KubeletUser, verb: string, subresource: string): Promise<boolean> {
    const key = JSON.stringify([user.name, user.uid, [...user.groups].sort(), user.extra, verb, subresource]);
    const cached = this.reviews.get(key);
    if (cached !== undefined) return cached;
    const review = await this.options.authorization.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: user.name,
          groups: user.groups,
          ...(user.uid ? { uid: user.uid } : {}),
          ...(user.extra ? { extra: user.extra } : {}),
          resourceAttributes: {
            verb,
            resource: "nodes",
            subresource,
            name: this.options.node,
            version: "v1",
          },
        },
      },
    });
    const allowed = review.status?.allowed === true;
    this.reviews.set(key, allowed, allowed ? ttl.allowed : ttl.denied);
    return allowed;
  }
}
