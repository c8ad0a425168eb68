// Where an image comes from, the way Docker reads a reference: `nginx:1.27` is
// docker.io/library/nginx, `contoso.azurecr.io/line-1/filter@sha256:...` is
// contoso.azurecr.io/line-1/filter. A namespace's allowed registries are hosts or repository
// prefixes, matched at a path boundary (contoso.azurecr.io/line-1 allows line-1/filter, not
// line-10/filter).

/** Other names of Docker Hub. */
const dockerHubAliases = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** The repository of an image reference, host lower-cased, without tag or digest. */
export function imageRepository(image: string): string {
  const withoutDigest = image.split("@")[0] ?? "";
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  const name = colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest;
  const [first = "", ...rest] = name.split("/");
  const isHost = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  const host = first.toLowerCase();
  if (isHost && !dockerHubAliases.has(host)) return [host, ...rest].join("/");
  if (isHost) return imageRepository(rest.join("/"));
  return rest.length === 0 ? `docker.io/library/${first}` : `docker.io/${name}`;
}

/** Whether the image comes from one of the allowed registries or repository prefixes. */
export function fromAllowedRegistry(image: string, allowed: readonly string[]): boolean {
  const repository = imageRepository(image);
  return allowed.some((prefix) => repository === prefix || repository.startsWith(`${prefix}/`));
}
