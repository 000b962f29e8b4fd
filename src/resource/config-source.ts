// Whether a resource's dependency comes from xdsd: the one rule both the registry's references (the snapshot's
// consistency check) and the config validator's references follow, so that what `xdsd validate` accepts the
// snapshot accepts too. A ConfigSource on the local filesystem (`path`, `path_config_source`) is read by Envoy from
// its own disk, not asked of us; ADS, self and API config sources (which in xdsd's bootstraps point back at xdsd)
// are ours to provide.
import type { ConfigSource } from "../gen/envoy/config/core/v3/config_source_pb.js";

export function servedByControlPlane(source: ConfigSource | undefined): boolean {
  const kind = source?.configSourceSpecifier.case;
  return kind !== "path" && kind !== "pathConfigSource";
}
