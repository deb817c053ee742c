import type Database from 'better-sqlite3';
import { emptyCounts, type JobState } from '../../core/job';
import { toJob, type JobRow } from '../rows';
import { assertAllDead, formatCursor, parseCursor, percentileOffset, statesOrAll, SUCCEEDED_SQL } from '../stats-shared';
import type {
  AttemptTotals, AttemptTotalsParams, CappedJobCounts, CountJobsCappedParams, DeleteDeadJobsParams, FinishedStats, FinishedStatsParams, JobPage, PageJobsParams,
} from '../store';
import { DELETE_JOB, DELETE_JOB_ATTEMPTS, DELETE_JOB_DEPS, DELETE_JOB_OUTPUT, GET_JOB_STATE, OLDEST_PENDING } from './queries';

/*
 * The SQLite store's stats: reads only, over the jobs and attempts tables as they are (no counters written by a
 * claim). Each count walks jobs_state for one state and stops at the cap; finished attempts are found through
 * attempts_finished (migration 005), which a claim never touches (its rows start with finished_at NULL).
 */

const COUNT_STATE_CAPPED = `SELECT count(*) AS n FROM (SELECT 1 FROM jobs WHERE state = ? LIMIT ?)`;
/** The `created_at <= @at` term gives the index its range; the OR breaks ties by rowid. */
const PAGE_STATE = `
  SELECT *, rowid AS seq FROM jobs
   WHERE state = @state AND created_at <= @at AND (created_at < @at OR rowid < @seq)
     AND (@search IS NULL OR instr(id, @search) > 0 OR instr(command, @search) > 0)
   ORDER BY created_at DESC, rowid DESC LIMIT @limit`;
const FINISHED = `FROM attempts WHERE finished_at >= @since AND outcome <> 'stopped'`;
const PER_MINUTE = `
  SELECT (finished_at / 60000) * 60000 AS minute, sum(${SUCCEEDED_SQL}) AS ok, count(*) AS n ${FINISHED} GROUP BY minute ORDER BY minute`;
const BY_OUTCOME = `SELECT outcome, count(*) AS n ${FINISHED} GROUP BY outcome`;
const BY_WORKER = `SELECT worker_id, sum(${SUCCEEDED_SQL}) AS ok, count(*) AS n ${FINISHED} GROUP BY worker_id ORDER BY n DESC LIMIT 100`;
const DURATION_AT = `SELECT finished_at - started_at AS d ${FINISHED} ORDER BY d LIMIT 1 OFFSET @offset`;
const DURATION_MAX = `SELECT max(finished_at - started_at) AS d, count(*) AS n ${FINISHED}`;
const TOTALS = `
  SELECT outcome, ${SUCCEEDED_SQL} AS ok, count(*) AS n, sum(finished_at - started_at) AS ms
    FROM attempts WHERE finished_at IS NOT NULL AND outcome <> 'stopped' GROUP BY outcome, ok`;
const histogramSql = (buckets: number) => `
  SELECT ${Array.from({ length: buckets }, (_, i) => `sum(CASE WHEN finished_at - started_at <= ? THEN 1 ELSE 0 END) AS b${i}`).join(', ')}
    FROM attempts WHERE finished_at IS NOT NULL AND outcome <> 'stopped'`;

/** What the stats need of SqliteStore: its read wrapper, its statement cache and its clock. */
export interface SqliteStatsAccess {
  read<T>(fn: () => T): Promise<T>;
  write<T>(fn: () => T): Promise<T>;
  stmt(sql: string): Database.Statement;
  now(): number;
}

export class SqliteStats {
  constructor(private readonly access: SqliteStatsAccess) {}

  countCapped(params: CountJobsCappedParams): Promise<CappedJobCounts> {
    const { stmt } = this.access;
    return this.access.read(() => {
      const counts = emptyCounts();
      const capped: JobState[] = [];
      for (const state of statesOrAll(undefined)) {
        counts[state] = (stmt(COUNT_STATE_CAPPED).get(state, params.cap) as { n: number }).n;
        if (counts[state] >= params.cap) capped.push(state);
      }
      const now = this.access.now();
      const oldest = stmt(OLDEST_PENDING).get({ now }) as { at: number | null; next: number | null };
      return { counts, capped, oldestPendingAt: oldest.at, nextRunAt: oldest.next, now };
    });
  }

  page(params: PageJobsParams): Promise<JobPage> {
    const { stmt } = this.access;
    const { at, seq } = parseCursor(params.after);
    const search = params.search === undefined || params.search === '' ? null : params.search;
    return this.access.read(() => {
      const rows = statesOrAll(params.states).flatMap(
        (state) => stmt(PAGE_STATE).all({ state, at, seq, search, limit: params.limit + 1 }) as (JobRow & { seq: number })[],
      );
      rows.sort((a, b) => b.created_at - a.created_at || b.seq - a.seq);
      const page = rows.slice(0, params.limit);
      const last = page[page.length - 1];
      return { jobs: page.map(toJob), next: rows.length > params.limit && last ? formatCursor(last.created_at, last.seq) : null };
    });
  }

  finished(params: FinishedStatsParams): Promise<FinishedStats> {
    const { stmt } = this.access;
    return this.access.read(() => {
      const now = this.access.now();
      const since = now - params.windowMs;
      const perMinute = (stmt(PER_MINUTE).all({ since }) as { minute: number; ok: number; n: number }[]).map((r) => ({ minute: r.minute, succeeded: r.ok, failed: r.n - r.ok }));
      const byOutcome: Record<string, number> = {};
      for (const r of stmt(BY_OUTCOME).all({ since }) as { outcome: string; n: number }[]) byOutcome[r.outcome] = r.n;
      const byWorker = (stmt(BY_WORKER).all({ since }) as { worker_id: string; ok: number; n: number }[]).map((r) => ({ workerId: r.worker_id, succeeded: r.ok, failed: r.n - r.ok }));
      const { d: max, n } = stmt(DURATION_MAX).get({ since }) as { d: number | null; n: number };
      const at = (p: number) => (stmt(DURATION_AT).get({ since, offset: percentileOffset(n, p) }) as { d: number }).d;
      const succeeded = perMinute.reduce((sum, m) => sum + m.succeeded, 0);
      return {
        now, since, perMinute, succeeded, failed: n - succeeded, byOutcome, byWorker,
        durationMs: max === null || n === 0 ? null : { p50: at(0.5), p95: at(0.95), max },
      };
    });
  }

  totals(params: AttemptTotalsParams): Promise<AttemptTotals> {
    const { stmt } = this.access;
    return this.access.read(() => {
      const rows = stmt(TOTALS).all() as { outcome: string; ok: number; n: number; ms: number }[];
      const sums = params.bucketsMs.length === 0 ? {} : (stmt(histogramSql(params.bucketsMs.length)).get(...params.bucketsMs) as Record<string, number | null>);
      return {
        byOutcome: rows.map((r) => ({ outcome: r.outcome, succeeded: r.ok === 1, count: r.n })),
        histogram: params.bucketsMs.map((le, i) => ({ le, count: sums[`b${i}`] ?? 0 })),
        count: rows.reduce((sum, r) => sum + r.n, 0),
        sumMs: rows.reduce((sum, r) => sum + r.ms, 0),
      };
    });
  }

  deleteDead(params: DeleteDeadJobsParams): Promise<string[]> {
    const { stmt } = this.access;
    return this.access.write(() => {
      const ids = [...new Set(params.ids)];
      assertAllDead(ids, (id) => (stmt(GET_JOB_STATE).get(id) as { state: JobState } | undefined)?.state);
      for (const id of ids) for (const sql of [DELETE_JOB_OUTPUT, DELETE_JOB_ATTEMPTS, DELETE_JOB_DEPS, DELETE_JOB]) stmt(sql).run(id);
      return ids;
    });
  }
}
