// Given/when/then for deciders, one helper for every context's decider tests:
//   const given = deciderSpec(productDecider);
//   expect(given([created]).when(command)()).toEqual([events]);
//   expect(violationOf(given([]).when(bad)).fieldViolations).toEqual([...]);
// `when` returns the decision unevaluated, so a test can assert events or the rule it breaks.
import { DomainRuleViolation, replay, type Decider } from "../../src/kernel/write/decider";

export function deciderSpec<State, Command, Event>(decider: Decider<State, Command, Event>) {
  return (events: Event[]) => {
    const state = replay(decider, decider.initialState(), events);
    return { state, when: (command: Command) => () => decider.decide(command, state) };
  };
}

/** The DomainRuleViolation a decision throws; fails the test when it returns events instead. */
export function violationOf(decision: () => unknown): DomainRuleViolation {
  try {
    decision();
  } catch (error) {
    if (error instanceof DomainRuleViolation) return error;
    throw error;
  }
  throw new Error("expected a DomainRuleViolation, got events");
}
