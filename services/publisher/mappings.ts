// The contexts whose events the publisher turns into integration events (each maps its own).
import type { ContextMapping } from "../../src/kernel/publisher/mapping";
import { contextModules } from "../../src/modules";

export const integrationMappings: readonly ContextMapping[] = contextModules.flatMap((module) => (module.integration ? [module.integration] : []));
