// The generic shape of an aggregate's behaviour (Emmett / Equinox style): pure functions
// only, so the same decider runs in unit tests, on replay and behind the repository.

export interface Decider<State, Command, Event> {
  initialState: () => State;
  /** Returns the events a command produces in a state, or throws a DomainRuleViolation. */
  decide(command: Command, state: State): Event[];
  /** Folds one event into the state; must be deterministic (no clock, no randomness). */
  evolve(state: State, event: Event): State;
}

export function replay<State, Event>(decider: Pick<Decider<State, unknown, Event>, "evolve">, state: State, events: Iterable<Event>): State {
  let current = state;
  for (const event of events) current = decider.evolve(current, event);
  return current;
}

export interface FieldViolation {
  /** The request field's name as written in the contract (snake_case), e.g. "price". */
  field: string;
  description: string;
}

export type RuleViolationKind = "invalid_argument" | "failed_precondition" | "not_found" | "already_exists";

/** A command broke a business rule; the transport maps `kind` to its status code. */
export class DomainRuleViolation extends Error {
  override readonly name = "DomainRuleViolation";

  private constructor(
    readonly kind: RuleViolationKind,
    message: string,
    readonly fieldViolations: readonly FieldViolation[] = [],
    /** Machine-readable reason for failed preconditions, e.g. "INSUFFICIENT_INVENTORY". */
    readonly reason?: string,
  ) {
    super(message);
  }

  static invalidArgument(violations: readonly FieldViolation[], message = "invalid argument"): DomainRuleViolation {
    return new DomainRuleViolation("invalid_argument", message, violations);
  }

  static failedPrecondition(message: string, reason?: string): DomainRuleViolation {
    return new DomainRuleViolation("failed_precondition", message, [], reason);
  }

  static notFound(message: string): DomainRuleViolation {
    return new DomainRuleViolation("not_found", message);
  }

  static alreadyExists(message: string): DomainRuleViolation {
    return new DomainRuleViolation("already_exists", message);
  }
}
