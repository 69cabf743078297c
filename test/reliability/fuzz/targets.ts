// What gets fuzzed: every service in the generated code under gen/eventmall (found by walking the
// directory, so a new service or RPC is fuzzed without touching this file), and fast-check
// arbitraries for hostile but well-formed requests built from each method's input descriptor.
import { readdirSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { create, toBinary, ScalarType, type DescField, type DescMessage, type DescMethod, type DescService } from "@bufbuild/protobuf";
import fc from "fast-check";

const genRoot = path.resolve(import.meta.dirname, "../../../gen/eventmall");

export async function productServices(): Promise<DescService[]> {
  const files = readdirSync(genRoot, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith("_pb.ts"));
  const services: DescService[] = [];
  for (const file of files) {
    const module = (await import(pathToFileURL(path.join(genRoot, file)).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (value && typeof value === "object" && (value as { kind?: unknown }).kind === "service") services.push(value as DescService);
    }
  }
  return services.sort((a, b) => a.typeName.localeCompare(b.typeName));
}

export const methodPath = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;

/** Strings that break things: empty, unicode, control characters, injection-ish, and very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom("", " ", "\u0000", "'; DROP TABLE product; --", "../../etc/passwd", "%00", "\uFFFF", "\uD800", "00000000-0000-0000-0000-000000000000"),
  fc.uuid(),
  fc.integer({ min: 1_000, max: 300_000 }).map((n) => "x".repeat(n)),
);

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return hostileString;
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.oneof(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), fc.constantFrom(0n, -1n, 1n));
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.bigInt(0n, 2n ** 64n - 1n), fc.constantFrom(0n, 1n));
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.nat({ max: 2 ** 32 - 1 });
    default:
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  }
}

function fieldValue(field: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return fc.integer({ min: -1, max: 10 });
    case "message":
      return depth > 2 ? undefined : messageValue(field.message, depth + 1);
    case "list":
      if (field.listKind === "scalar") return fc.array(scalar(field.scalar), { maxLength: 4 });
      if (field.listKind === "enum") return fc.array(fc.integer({ min: -1, max: 10 }), { maxLength: 4 });
      return depth > 2 ? undefined : fc.array(messageValue(field.message, depth + 1), { maxLength: 4 });
    default:
      return undefined; // maps: none in our contracts yet
  }
}

function messageValue(desc: DescMessage, depth: number): fc.Arbitrary<unknown> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of desc.fields) {
    const value = fieldValue(field, depth);
    if (value) fields[field.localName] = value;
  }
  return fc.record(fields, { requiredKeys: [] }).map((init) => create(desc, init as never));
}

/** Binary encodings of random, well-formed instances of the method's request message. */
export function wellFormedRequest(method: DescMethod): fc.Arbitrary<Uint8Array> {
  return messageValue(method.input, 0).map((message) => toBinary(method.input, message as never));
}

/** Bytes that are mostly not a valid protobuf message (bad wire types, truncated varints, ...). */
export const malformedProtobuf: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 256 }),
  fc.constantFrom(Uint8Array.of(0x0a, 0xff), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), Uint8Array.of(0x0f), Uint8Array.of(0x0a, 0x05, 0x61)),
);

/** JSON bodies that are wrong: not JSON, wrong shapes, wrong types for the method's fields. */
export function wrongJson(method: DescMethod): fc.Arbitrary<string> {
  const names = method.input.fields.map((f) => f.jsonName);
  const wrongValue = fc.oneof(fc.jsonValue(), fc.constant("x".repeat(100_000)), fc.constantFrom("NaN", "1e400", "-1", "9223372036854775808", "not-a-number"));
  return fc.oneof(
    fc.string(),
    fc.json(),
    fc.constantFrom("{", "[]", "null", "\"x\"", "{\"a\":", "{}}"),
    names.length === 0 ? fc.json() : fc.dictionary(fc.constantFrom(...names), wrongValue).map((o) => JSON.stringify(o)),
  );
}
