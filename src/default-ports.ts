// The ports xdsd and the proxies it bootstraps use unless told otherwise, defined once for the flags' defaults, the
// usage text, the bootstraps, error messages and the OpenAPI file's server.

/** xDS (gRPC SotW and delta, REST-JSON over HTTP/1.1 and h2c): go-control-plane's example port. */
export const defaultXdsPort = 18000;
/** xdsd's admin HTTP server (/healthz, /config, /nodes, /metrics, the write API). */
export const defaultAdminPort = 18001;
/** Envoy's own admin port in the bootstraps xdsd writes (Envoy's documentation uses it). */
export const defaultEnvoyAdminPort = 9901;

/** `xdsd serve --xds-listen`: every interface, since proxies connect from elsewhere. */
export const defaultXdsListen = `0.0.0.0:${defaultXdsPort}`;
/** `xdsd serve --admin-listen`: loopback only, since the admin port can change what is served. */
export const defaultAdminListen = `127.0.0.1:${defaultAdminPort}`;
/** Where the API commands (`get`, `apply`, `endpoints`, `status`) find the admin port. */
export const defaultAdminUrl = `http://${defaultAdminListen}`;
/** Where a bootstrap points the proxy for xDS (`xdsd bootstrap --xds`). */
export const defaultXdsAddress = `127.0.0.1:${defaultXdsPort}`;
