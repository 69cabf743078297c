// The figures RELIABILITY.md quotes: each scenario prints one line, and appends it as JSON to
// $RELIABILITY_FIGURES_FILE when that is set (the chaos run collects them there).
import { appendFileSync } from "node:fs";

export function recordFigures(scenario: string, figures: Record<string, number | string>): void {
  const line = JSON.stringify({ scenario, ...figures });
  process.stdout.write(`[reliability] ${line}\n`);
  const file = process.env.RELIABILITY_FIGURES_FILE;
  if (file) appendFileSync(file, `${line}\n`);
}
