// KurrentDB (the renamed EventStoreDB) documents its connection strings as kurrentdb://, and
// its newer clients also accept kurrent:// and kdb://. The options after the scheme are the same
// as esdb://'s, which is the only scheme @eventstore/db-client parses, so any of them is
// rewritten to esdb:// before a client sees it. esdb:// strings pass through unchanged.
const SCHEME = /^\s*(kurrentdb|kurrent|kdb)(\+discover)?:\/\//i;

export function toEsdbConnectionString(connectionString: string): string {
  return connectionString.replace(SCHEME, (_match, _scheme: string, discover: string | undefined) => `esdb${discover ? "+discover" : ""}://`);
}
