import type { JobCounts, JobState } from './job';
import type { WorkerRecord } from './records';
import { isoTime, workerToJson } from './serialize';

/** What the JSON is made from: the Queue's `stats()` (QueueStats in src/queue.ts has this shape). */
export interface StatsView {
  windowMs: number;
  now: number;
  counts: JobCounts;
  cappedStates: JobState[];
  oldestPendingAgeMs: number | null;
  finishedPerMinute: number;
  successRate: number | null;
  failureRate: number | null;
  finished: {
    succeeded: number;
    failed: number;
    byOutcome: Record<string, number>;
    durationMs: { p50: number; p95: number; max: number } | null;
    perMinute: { minute: number; succeeded: number; failed: number }[];
    byWorker: { workerId: string; succeeded: number; failed: number }[];
  };
  workers: (WorkerRecord & { alive: boolean })[];
}

/** The JSON of `queuectl stats --json` and the dashboard's `/api/overview`: one shape for both. */
export function statsToJson(stats: StatsView) {
  const f = stats.finished;
  return {
    window_seconds: stats.windowMs / 1000,
    now: isoTime(stats.now),
    jobs: stats.counts,
    /** States whose count reached the cap: at least that many. */
    jobs_capped: stats.cappedStates,
    oldest_pending_age_seconds: stats.oldestPendingAgeMs === null ? null : Math.round(stats.oldestPendingAgeMs / 1000),
    finished: {
      succeeded: f.succeeded,
      failed: f.failed,
      per_minute: Math.round(stats.finishedPerMinute * 100) / 100,
      success_rate: stats.successRate,
      failure_rate: stats.failureRate,
      by_outcome: f.byOutcome,
      duration_ms: f.durationMs,
      /** Minutes with finishes, oldest first: start of the minute, successes, failures. */
      minutes: f.perMinute.map((m) => ({ at: isoTime(m.minute), succeeded: m.succeeded, failed: m.failed })),
      by_worker: f.byWorker.map((w) => ({ worker_id: w.workerId, succeeded: w.succeeded, failed: w.failed })),
    },
    workers: stats.workers.map((w) => ({
      ...workerToJson(w, !w.alive),
      heartbeat_age_seconds: Math.max(0, Math.round((stats.now - w.lastHeartbeat) / 1000)),
    })),
  };
}
