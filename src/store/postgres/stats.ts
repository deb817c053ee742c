import { emptyCounts, type JobState } from '../../core/job';
import { toJob, type JobRow } from '../rows';
import { assertAllDead, formatCursor, parseCursor, statesOrAll, SUCCEEDED_SQL } from '../stats-shared';
import type {
  AttemptTotals, AttemptTotalsParams, CappedJobCounts, CountJobsCappedParams, DeleteDeadJobsParams, FinishedStats, FinishedStatsParams, JobPage, PageJobsParams,
} from '../store';
import type { Database } from './connection';
import { withSchema } from './queries';

/*
 * The PostgreSQL store's stats: reads only, over the jobs and attempts tables as they are (no counters written by a
 * claim). Each state is counted through jobs_state up to the cap; finished attempts are found through
 * attempts_finished (migration 006). Times are the database's clock.
 */

const NOW_MS = `floor(extract(epoch FROM now()) * 1000)::bigint`;
/** $1 states, $2 cap; one round trip with the oldest pending job and the clock (evaluated once). */
const COUNT_CAPPED = `
  SELECT wanted.state, c.n,
         (SELECT min(run_at) FROM @schema.jobs WHERE state = 'pending' AND run_at <= n.now) AS oldest,
         (SELECT min(run_at) FROM @schema.jobs WHERE state = 'pending' AND run_at > n.now) AS next, n.now
    FROM (SELECT ${NOW_MS} AS now) n CROSS JOIN unnest($1::text[]) AS wanted(state)
   CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM (SELECT 1 FROM @schema.jobs WHERE state = wanted.state LIMIT $2) s) c`;
/** $1 states, $2 created_at, $3 seq, $4 search (null: all), $5 limit. */
const PAGE = `
  SELECT j.* FROM unnest($1::text[]) AS wanted(state)
   CROSS JOIN LATERAL (
     SELECT * FROM @schema.jobs
      WHERE state = wanted.state AND (created_at, seq) < ($2::bigint, $3::bigint)
        AND ($4::text IS NULL OR strpos(id, $4) > 0 OR strpos(command, $4) > 0)
      ORDER BY created_at DESC, seq DESC LIMIT $5) j
   ORDER BY j.created_at DESC, j.seq DESC LIMIT $5`;
/**
 * $1: the window in ms. Everything about the window's finished attempts in one round trip: per minute, per outcome,
 * per worker, and the nearest-rank percentiles (percentile_disc) of their run time.
 */
const FINISHED = `
  WITH f AS (
    SELECT finished_at, finished_at - started_at AS d, outcome, worker_id, ${SUCCEEDED_SQL} AS ok
      FROM @schema.attempts WHERE finished_at >= ${NOW_MS} - $1::bigint AND outcome <> 'stopped')
  SELECT ${NOW_MS} AS now, (SELECT count(*)::int FROM f) AS n, (SELECT coalesce(sum(ok), 0)::int FROM f) AS ok,
    (SELECT coalesce(json_agg(m ORDER BY m.minute), '[]')
       FROM (SELECT (finished_at / 60000) * 60000 AS minute, sum(ok)::int AS ok, count(*)::int AS n FROM f GROUP BY 1) m) AS minutes,
    (SELECT coalesce(json_object_agg(o.outcome, o.n), '{}') FROM (SELECT outcome, count(*)::int AS n FROM f GROUP BY outcome) o) AS outcomes,
    (SELECT coalesce(json_agg(w ORDER BY w.n DESC), '[]')
       FROM (SELECT worker_id, sum(ok)::int AS ok, count(*)::int AS n FROM f GROUP BY worker_id ORDER BY n DESC LIMIT 100) w) AS workers,
    (SELECT percentile_disc(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY d) FROM f) AS percentiles,
    (SELECT max(d) FROM f) AS max`;
const TOTALS = `
  SELECT outcome, ${SUCCEEDED_SQL} AS ok, count(*)::int AS n, coalesce(sum(finished_at - started_at), 0)::bigint AS ms
    FROM @schema.attempts WHERE finished_at IS NOT NULL AND outcome <> 'stopped' GROUP BY outcome, ok`;
/** $1: the bucket bounds. */
const HISTOGRAM = `
  SELECT b.le, count(a.*)::int AS n FROM unnest($1::bigint[]) AS b(le)
    LEFT JOIN @schema.attempts a ON a.finished_at IS NOT NULL AND a.outcome <> 'stopped' AND a.finished_at - a.started_at <= b.le
   GROUP BY b.le ORDER BY b.le`;

/** $1: ids. Locked, so a retry running at the same time waits, then finds them gone. */
const LOCK_STATES = `SELECT id, state FROM @schema.jobs WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`;
const DELETE_JOBS = `
  WITH output AS (DELETE FROM @schema.job_output WHERE job_id = ANY($1::text[])),
       attempts AS (DELETE FROM @schema.attempts WHERE job_id = ANY($1::text[])),
       deps AS (DELETE FROM @schema.job_deps WHERE job_id = ANY($1::text[]))
  DELETE FROM @schema.jobs WHERE id = ANY($1::text[])`;

interface FinishedRow {
  now: number;
  n: number;
  ok: number;
  minutes: { minute: number; ok: number; n: number }[];
  outcomes: Record<string, number>;
  workers: { worker_id: string; ok: number; n: number }[];
  percentiles: (number | string)[] | null;
  max: number | null;
}

export class PostgresStats {
  private readonly sql: (text: string) => string;

  constructor(private readonly access: { db: Database; schema: string }) {
    this.sql = (text) => withSchema(text, access.schema);
  }

  async countCapped(params: CountJobsCappedParams): Promise<CappedJobCounts> {
    const rows = await this.access.db.query<{ state: JobState; n: number; oldest: number | null; next: number | null; now: number }>(this.sql(COUNT_CAPPED), [statesOrAll(undefined), params.cap]);
    const counts = emptyCounts();
    for (const row of rows) counts[row.state] = row.n;
    const capped = rows.filter((row) => row.n >= params.cap).map((row) => row.state);
    return { counts, capped, oldestPendingAt: rows[0]!.oldest, nextRunAt: rows[0]!.next, now: rows[0]!.now };
  }

  async page(params: PageJobsParams): Promise<JobPage> {
    const { at, seq } = parseCursor(params.after);
    const search = params.search === undefined || params.search === '' ? null : params.search;
    const rows = await this.access.db.query<JobRow & { seq: number }>(this.sql(PAGE), [statesOrAll(params.states), at, seq, search, params.limit + 1]);
    const page = rows.slice(0, params.limit);
    const last = page[page.length - 1];
    return { jobs: page.map(toJob), next: rows.length > params.limit && last ? formatCursor(last.created_at, Number(last.seq)) : null };
  }

  async finished(params: FinishedStatsParams): Promise<FinishedStats> {
    const [row] = await this.access.db.query<FinishedRow>(this.sql(FINISHED), [params.windowMs]);
    const { now, n, ok, max } = row!;
    const byOutcome: Record<string, number> = { ...row!.outcomes };
    const [p50, p95] = (row!.percentiles ?? []).map(Number);
    return {
      now, since: now - params.windowMs, succeeded: ok, failed: n - ok, byOutcome,
      perMinute: row!.minutes.map((m) => ({ minute: Number(m.minute), succeeded: m.ok, failed: m.n - m.ok })),
      byWorker: row!.workers.map((w) => ({ workerId: w.worker_id, succeeded: w.ok, failed: w.n - w.ok })),
      durationMs: max === null || n === 0 ? null : { p50: p50!, p95: p95!, max: Number(max) },
    };
  }

  async totals(params: AttemptTotalsParams): Promise<AttemptTotals> {
    const { db } = this.access;
    const [rows, buckets] = await Promise.all([
      db.query<{ outcome: string; ok: number; n: number; ms: number }>(this.sql(TOTALS)),
      db.query<{ le: number; n: number }>(this.sql(HISTOGRAM), [params.bucketsMs]),
    ]);
    return {
      byOutcome: rows.map((r) => ({ outcome: r.outcome, succeeded: r.ok === 1, count: r.n })),
      histogram: buckets.map((b) => ({ le: Number(b.le), count: b.n })),
      count: rows.reduce((sum, r) => sum + r.n, 0),
      sumMs: rows.reduce((sum, r) => sum + Number(r.ms), 0),
    };
  }

  async deleteDead(params: DeleteDeadJobsParams): Promise<string[]> {
    const ids = [...new Set(params.ids)];
    return this.access.db.transaction(async (tx) => {
      const states = new Map((await tx.query<{ id: string; state: JobState }>(this.sql(LOCK_STATES), [ids])).map((row) => [row.id, row.state]));
      assertAllDead(ids, (id) => states.get(id));
      if (ids.length > 0) await tx.query(this.sql(DELETE_JOBS), [ids]);
      return ids;
    });
  }
}
