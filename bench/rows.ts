// Turns each benchmark's result into table rows, with the seed's targets and verdicts.
import { ms, ratio } from "./lib/histogram";
import type { GcPauses } from "./lib/gc-metrics";
import type { LoadResult } from "./lib/load";
import type { ResultRow } from "./lib/report";
import type { AggregateLoadResult } from "./scenarios/aggregate-load";
import type { CommandLoadResult } from "./scenarios/commands";
import type { MembersResult } from "./scenarios/members";
import type { PeerStoreResult } from "./scenarios/peer";

const pct = (p50: number, p99: number) => `p50 ${ms(p50)} / p99 ${ms(p99)}`;
const count = (n: number) => n.toLocaleString("en-US");

export function aggregateRows(r: AggregateLoadResult, loads: number): ResultRow[] {
  const speedup = r.fullReplay.p50Ms / r.snapshotAndTail.p50Ms;
  return [
    { section: "1", measure: `aggregate load, full replay of ${count(r.events)} events`, value: pct(r.fullReplay.p50Ms, r.fullReplay.p99Ms), note: `${loads} loads, AggregateRepository over gRPC` },
    {
      section: "1",
      measure: `aggregate load, snapshot + ${r.tail}-event tail`,
      value: pct(r.snapshotAndTail.p50Ms, r.snapshotAndTail.p99Ms),
      target: "≤ 2 ms (p50)",
      met: r.snapshotAndTail.p50Ms <= 2,
      note:
        r.tail < r.snapshotEvery
          ? `${loads} loads; as the services load (SNAPSHOT_EVERY=${r.snapshotEvery}): the snapshot stream's last event and the stream's last ${r.snapshotEvery} events, read at once`
          : `${loads} loads; the snapshot and the stream's last ${r.snapshotEvery} events at once, then (the tail is longer) the events after the snapshot`,
    },
    {
      section: "1",
      measure: `same, the two reads one after the other`,
      value: pct(r.snapshotThenTail.p50Ms, r.snapshotThenTail.p99Ms),
      note: `${loads} loads; snapshot stream (last event), then the ${r.tail} events after it`,
    },
    { section: "1", measure: "snapshot speed-up (p50 full / p50 snapshot)", value: ratio(speedup), target: "≥ 100×", met: speedup >= 100 },
    {
      section: "1",
      measure: "aggregate load, warm: cached state + read of the events after it (none here)",
      value: pct(r.cachedCatchUp.p50Ms, r.cachedCatchUp.p99Ms),
      note: `${loads} loads; 1 read; what the command service's repository does (COMMAND_CACHE_SIZE); its commands skip even this read`,
    },
  ];
}

export function memberRows(r: MembersResult): ResultRow[] {
  const speedup = r.replayExtrapolatedMs / r.readModelAll.p50Ms;
  return [
    {
      section: "2",
      measure: `withdrawn in the last 7 days, read model (${count(r.withdrawnLastWeek)} of ${count(r.members)} members, all rows)`,
      value: pct(r.readModelAll.p50Ms, r.readModelAll.p99Ms),
      target: "≤ 20 ms (p50)",
      met: r.readModelAll.p50Ms <= 20,
      note: "Prisma findMany on SQLite, ListMembersWithdrawnSince's filter, order and (withdrawn_at, id) index",
    },
    { section: "2", measure: "same, first page (101 rows, as one ListMembersWithdrawnSince call)", value: pct(r.readModelFirstPage.p50Ms, r.readModelFirstPage.p99Ms) },
    {
      section: "2",
      measure: `load + check one member aggregate (sample of ${count(r.replaySample)})`,
      value: pct(r.replayPerMember.p50Ms, r.replayPerMember.p99Ms),
      note: `mean ${ms(r.replayPerMember.meanMs)}; sequential AggregateRepository loads over gRPC, ${count(r.sampleMatches)} matches in the sample`,
    },
    {
      section: "2",
      measure: `all ${count(r.members)} aggregates, extrapolated (mean × ${count(r.members)})`,
      value: `${(r.replayExtrapolatedMs / 1000).toFixed(0)} s`,
      note: "extrapolated from the sample, not measured end to end",
    },
    { section: "2", measure: "read model speed-up (extrapolated scan / read model p50)", value: ratio(speedup), target: "≥ 1000×", met: speedup >= 1000 },
    {
      section: "2",
      measure: "bulk seeding (not a product path)",
      value: `read model ${r.seedReadModelSeconds.toFixed(1)} s, store file ${r.seedStoreSeconds.toFixed(1)} s`,
      note: `${count(r.withdrawnInYear)} withdrawals spread over a year`,
    },
  ];
}

function loadValue(r: LoadResult): string {
  const failures = (r.failed > 0 ? `, ${count(r.failed)} failed` : "") + (r.dropped > 0 ? `, ${count(r.dropped)} of ${count(r.sent + r.dropped)} sends dropped (256 in flight)` : "");
  return `${r.throughputPerSecond.toFixed(0)}/s done, ${pct(r.latency.p50Ms, r.latency.p99Ms)}${failures}`;
}

export function commandRows(r: CommandLoadResult, seconds: number, concurrency: number): ResultRow[] {
  const first = r.fixed[0];
  const coldStart: ResultRow[] = first?.warmup
    ? [{ section: "3", measure: `first seconds at ${first.offeredPerSecond}/s after idle (warm-up, not counted below)`, value: loadValue(first.warmup), note: "latency from the scheduled send time" }]
    : [];
  const rows: ResultRow[] = r.fixed.map((load) => ({
    section: "3",
    measure: `IncreaseInventory over gRPC, open loop at ${load.offeredPerSecond}/s for ${seconds} s`,
    value: loadValue(load),
    ...(load.offeredPerSecond === 500 ? { target: "p99 ≤ 20 ms", met: load.latency.p99Ms <= 20 && load.failed === 0 && load.dropped === 0 } : {}),
    note: load.firstError ? `first error: ${load.firstError}` : `latency from the scheduled send time; command service GC meanwhile: ${gcNote(load.gc)}`,
  }));
  rows.unshift(...coldStart);
  rows.push({
    section: "3",
    measure: `saturation: ${concurrency} callers back to back for ${seconds} s`,
    value: loadValue(r.saturation),
    note: r.saturation.firstError ? `first error: ${r.saturation.firstError}` : "closed loop; throughput = the ceiling",
  });
  if (r.floor) {
    const { emptyRpc, storeAppend } = r.floor;
    rows.push(
      {
        section: "3",
        measure: `floor: an RPC that does nothing (grpc.health.v1 Check on the command service), open loop at ${emptyRpc.offeredPerSecond}/s`,
        value: loadValue(emptyRpc),
        note: emptyRpc.firstError ? `first error: ${emptyRpc.firstError}` : `load generator, HTTP/2 and connect-node only; command service GC meanwhile: ${gcNote(emptyRpc.gc)}`,
      },
      {
        section: "3",
        measure: `floor: an append straight to the store (@eventstore/db-client in the load generator), open loop at ${storeAppend.offeredPerSecond}/s`,
        value: loadValue(storeAppend),
        note: storeAppend.firstError ? `first error: ${storeAppend.firstError}` : "one event per append, round-robin over as many streams as products; a command makes both trips in sequence",
      },
    );
  }
  const { commandService, store, loadGenerator } = r.cpuPerCommand;
  rows.push({
    section: "3",
    measure: "CPU time per command (saturation run)",
    value: `command service ${commandService.toFixed(2)} ms, store ${store === undefined ? "?" : store.toFixed(2)} ms, load generator ${loadGenerator.toFixed(2)} ms`,
    note: "from /proc (10 ms ticks); the three share the 2 cores, so their sum bounds the throughput",
  });
  return rows;
}

function gcNote(gc: GcPauses): string {
  const minor = `${gc.minor.count} minor pauses (${gc.minor.atLeast10ms} of them 10 ms or longer), ${gc.minor.ms.toFixed(0)} ms in all`;
  return gc.major.count > 0 ? `${minor}; ${gc.major.count} major, ${gc.major.ms.toFixed(0)} ms` : minor;
}

export function peerRows(results: PeerStoreResult[], appendConcurrency: number[], rehydrateEvents: number): ResultRow[] {
  const rows: ResultRow[] = [];
  for (const store of results) {
    if (store.error) {
      rows.push({ section: "4", measure: store.store, value: "failed", note: store.error });
      continue;
    }
    store.appends.forEach((load, i) =>
      rows.push({ section: "4", measure: `${store.store}: appends, ${appendConcurrency[i]} in flight`, value: loadValue(load), note: load.firstError ? `first error: ${load.firstError}` : undefined }),
    );
    if (store.rehydrate) {
      const note = store === results[0] ? "benchmark 1's full replay" : "aggregateStream with the Product decider's evolve";
      rows.push({ section: "4", measure: `${store.store}: rehydrate ${count(rehydrateEvents)} events`, value: pct(store.rehydrate.p50Ms, store.rehydrate.p99Ms), note });
    }
  }
  const [ours, ...peers] = results;
  if (!ours || ours.error) return rows;
  for (const peer of peers) {
    if (peer.error) continue;
    const throughput = appendConcurrency.map((c, i) => `${c} in flight ${ratio(ours.appends[i]!.throughputPerSecond / peer.appends[i]!.throughputPerSecond)}`).join(", ");
    rows.push({ section: "4", measure: `eventmall / ${peer.store}: append throughput`, value: throughput, note: "> 1× = eventmall faster" });
    if (ours.rehydrate && peer.rehydrate) {
      rows.push({ section: "4", measure: `eventmall / ${peer.store}: rehydrate speed (p50)`, value: ratio(peer.rehydrate.p50Ms / ours.rehydrate.p50Ms), note: "> 1× = eventmall faster" });
    }
  }
  return rows;
}
