// Stands in for "@eventstore/db-client" when the conformance suite runs with
// @kurrent/kurrentdb-client (vitest.kurrent.config.ts): the same exports, and an
// EventStoreDBClient that is a KurrentDBClient speaking the old option and field names, so the
// tests run unchanged and assert exactly what they assert with the old client.
//
// 1.x renamed two things the suite uses, and an old name would otherwise pass silently:
// - appendToStream's `expectedRevision` is `streamState` (an unknown option appends as ANY);
// - WrongExpectedVersionError's `expectedVersion`/`actualVersion` are `expectedState`/`actualState`.
// deleteStream, tombstoneStream and setStreamMetadata still take `expectedRevision` in 1.3.
// Loaded by Node itself (type stripping), so only erasable TypeScript here.
import { KurrentDBClient, WrongExpectedVersionError } from "@kurrent/kurrentdb-client";
import type { AppendResult, AppendToStreamOptions, EventData } from "@kurrent/kurrentdb-client";

export * from "@kurrent/kurrentdb-client";

type OldAppendOptions = AppendToStreamOptions & { expectedRevision?: AppendToStreamOptions["streamState"] };

export class EventStoreDBClient extends KurrentDBClient {
  // KurrentDBClient.connectionString builds a plain client; give it this class's methods. The
  // tests' esdb:// strings mean the same as kurrentdb:// (which spares a deprecation warning each).
  static override connectionString(connectionString: string): EventStoreDBClient {
    const client = KurrentDBClient.connectionString(connectionString.replace(/^esdb(\+discover)?:\/\//, "kurrentdb$1://"));
    return Object.setPrototypeOf(client, EventStoreDBClient.prototype) as EventStoreDBClient;
  }

  override appendToStream(stream: string, events: EventData | EventData[], options: OldAppendOptions = {}): Promise<AppendResult> {
    const { expectedRevision, ...rest } = options;
    if (expectedRevision !== undefined && rest.streamState === undefined) rest.streamState = expectedRevision;
    return super.appendToStream(stream, events, rest);
  }
}

for (const [oldName, newName] of [
  ["expectedVersion", "expectedState"],
  ["actualVersion", "actualState"],
] as const) {
  if (!Object.hasOwn(WrongExpectedVersionError.prototype, oldName)) {
    Object.defineProperty(WrongExpectedVersionError.prototype, oldName, {
      get(this: WrongExpectedVersionError) {
        return this[newName];
      },
    });
  }
}
