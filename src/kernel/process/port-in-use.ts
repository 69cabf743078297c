// A service that cannot listen because its port is taken says which setting moves it.

/** When `error` is a port already in use (Node's EADDRINUSE, or grpc-js wrapping it), a hint naming `variable`. */
export function portInUseHint(error: unknown, variable: string): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const text = error instanceof Error ? error.message : String(error);
  if (code !== "EADDRINUSE" && !text.includes("EADDRINUSE")) return undefined;
  const port = /:(\d+)\b(?!.*:\d+\b)/.exec(text)?.[1];
  return `port ${port ?? "?"} is already in use (another eventmall or another program): set ${variable} to a free port, or 0 for any free port`;
}
