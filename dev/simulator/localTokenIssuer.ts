// A local stand-in for Microsoft Entra ID: it signs access tokens (RS256 JWTs) with a key of its own.
// The simulator trusts the issuers it is given, as IoT Hub trusts its tenant, so the identity path
// of the real SDKs (a TokenCredential, `Authorization: Bearer`) runs against it.
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";

export interface TrustedTokenIssuer {
  /** the `iss` claim of its tokens */
  issuer: string;
  publicKey: KeyObject;
}

/** What @azure/core-auth's TokenCredential.getToken returns. */
export interface IssuedToken {
  token: string;
  expiresOnTimestamp: number;
}

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

export class LocalTokenIssuer implements TrustedTokenIssuer {
  readonly publicKey: KeyObject;
  readonly #privateKey: KeyObject;

  constructor(readonly issuer = "https://login.local.test/simulated-tenant/v2.0") {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    this.publicKey = publicKey;
    this.#privateKey = privateKey;
  }

  /** An access token for `audience`, valid from `now` for `lifetimeSeconds`. */
  issue(audience: string, now = new Date(), lifetimeSeconds = 3600): IssuedToken {
    const issuedAt = Math.floor(now.getTime() / 1000);
    const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
    const claims = base64url(
      JSON.stringify({
        aud: audience,
        iss: this.issuer,
        sub: "simulated-managed-identity",
        iat: issuedAt,
        nbf: issuedAt,
        exp: issuedAt + lifetimeSeconds,
      }),
    );
    const signature = sign("sha256", Buffer.from(`${header}.${claims}`), this.#privateKey);
    return {
      token: `${header}.${claims}.${base64url(signature)}`,
      expiresOnTimestamp: (issuedAt + lifetimeSeconds) * 1000,
    };
  }

  /** A TokenCredential as @azure/identity's are: the audience is the scope without `/.default`. */
  credential(): { getToken(scopes: string | string[]): Promise<IssuedToken> } {
    return {
      getToken: (scopes) => {
        const scope = Array.isArray(scopes) ? (scopes[0] ?? "") : scopes;
        return Promise.resolve(this.issue(scope.replace(/\/\.default$/, "")));
      },
    };
  }
}
