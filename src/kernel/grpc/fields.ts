// Field checks every context's requests share: ids (UUIDs) and page sizes. Each returns the
// violation (field named as in the contract) rather than throwing, so a caller can report every
// bad field of a request at once.
import type { FieldViolation } from "./errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID in its dashed text form, either case (ids are stored lower-case). */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** The violation of a field that must hold a UUID; `description` names what kind of id it is. */
export function uuidViolation(field: string, value: string, description = "must be a UUID"): FieldViolation | undefined {
  return isUuid(value) ? undefined : { field, description };
}

export interface PageSizeLimits {
  /** What a request's page_size of 0 (unset) means. */
  default: number;
  max: number;
}

/** The list queries' page size unless a service says otherwise. */
export const PAGE_SIZE_LIMITS: PageSizeLimits = { default: 20, max: 100 };

/** The page size a request asks for (0: the default), or the page_size violation. */
export function readPageSize(requested: number, limits: PageSizeLimits = PAGE_SIZE_LIMITS): { pageSize: number; violation?: FieldViolation } {
  const pageSize = requested === 0 ? limits.default : requested;
  if (pageSize >= 1 && pageSize <= limits.max) return { pageSize };
  return { pageSize, violation: { field: "page_size", description: `must be between 1 and ${limits.max} (0 means ${limits.default})` } };
}
