// How a client reaches the storage account: by connection string (keys; Azurite's well-known
// account) or by service URIs and a TokenCredential (the app's managed identity).
export type StorageConnection =
  | { kind: "connectionString"; connectionString: string }
  | {
      kind: "identity";
      serviceUris: { blob: string; queue: string; table: string };
      /** a user-assigned identity's client id (the same as AZURE_CLIENT_ID) */
      clientId?: string;
    };
