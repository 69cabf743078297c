// Which bounded contexts a process serves (COMMAND_CONTEXTS, QUERY_CONTEXTS), so a deployment
// can run one context's services in a process of its own.

/** The entries of the named contexts (all when unnamed); an unknown name is a startup error. */
export function selectContexts<T>(available: Record<string, T>, names: readonly string[] | undefined): T[] {
  if (names === undefined) return Object.values(available);
  const unknown = names.filter((name) => !Object.hasOwn(available, name));
  if (unknown.length > 0) {
    throw new Error(`unknown context(s) ${unknown.join(", ")}; this process can host ${Object.keys(available).join(", ")}`);
  }
  return [...new Set(names)].map((name) => available[name]!);
}
