// Whether an encoded resource holds key material (resource/redact.ts says what that is): a Secret always may; a
// Listener or Cluster does when a TLS context of its carries a private key inline. Whatever shows resources in their
// wire form (CSDS) cannot redact a field inside the bytes it hands out, so it leaves such a resource's contents out.
import { toJson } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { envoyRegistry } from "./proto-registry.js";
import { redactKeyMaterial } from "./redact.js";
import { TypeUrl } from "./type-urls.js";

/** Types whose resources are shown only bare: a Secret is key material, or may be. */
const alwaysKeyMaterial: ReadonlySet<string> = new Set([TypeUrl.Secret]);

/** Types whose resources may carry a TLS context with a private key inline. */
const mayHoldKeys: ReadonlySet<string> = new Set([TypeUrl.Listener, TypeUrl.Cluster]);

/** Per encoded resource (shared and never changed), the answer: a resource is decoded once however often asked. */
const answers = new WeakMap<Any, boolean>();

export function holdsKeyMaterial(typeUrl: string, any: Any): boolean {
  if (alwaysKeyMaterial.has(typeUrl)) return true;
  if (!mayHoldKeys.has(typeUrl)) return false;
  let answer = answers.get(any);
  if (answer === undefined) {
    const registry = envoyRegistry();
    const message = anyUnpack(any, registry);
    const json = message && toJson(registry.getMessage(message.$typeName)!, message, { registry });
    answer = json === undefined || redactKeyMaterial(json) !== json;
    answers.set(any, answer);
  }
  return answer;
}
