// Projector runtime: one persistent-subscription group on $all per projection. Events are
// applied with their checkpoint in one transaction, then acked: the deliveries already buffered
// when one arrives go into the same transaction (a burst costs one commit). Two kinds of failure:
// - the projection's own code throws on an event: the event gets a retry mark, is nacked for
//   retry with backoff, and after maxRetries such failures is parked on purpose (the mark stays,
//   so a replay applies it although the checkpoint moved on);
// - the infrastructure fails (read database unreachable, locked, restarting; the store for a
//   reactor): the runner keeps the deliveries in hand, waits with capped backoff for as long as
//   it takes and tries the same work again. Nothing is nacked, nothing counts toward parking,
//   the checkpoint stays where it is; the state reads "waiting".
import { ProjectionRunner } from "./projection-runner";
import type { ProjectorOptions, RunningProjector } from "./projector-types";

export type { ProjectedEvent, Projection, ProjectionFilter } from "./projector-checkpoint";
export { eventJson } from "./projector-checkpoint";
export { groupName, type ProjectionObserver, type ProjectionState, type ProjectorOptions, type Reactor, type RunningProjector } from "./projector-types";
export { STORE_PARKING_BACKSTOP } from "./subscription-group";

export function startProjector(options: ProjectorOptions): RunningProjector {
  const handlers = [...options.projections, ...(options.reactors ?? [])];
  const runners = handlers.map((handler) => new ProjectionRunner(handler, options));
  const done = runners.map((runner) => runner.run());
  return {
    async stop() {
      for (const runner of runners) runner.stop();
      await Promise.all(done);
    },
  };
}
