import { emptyCounts, type JobState } from '../../core/job';
import { toJob, type JobRow } from '../rows';
import { assertAllDead, formatCursor, parseCursor, percentileOffset, statesOrAll, SUCCEEDED_SQL } from '../stats-shared';
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
/** $1 states, $2 cap. */
const COUNT_CAPPED = `
  SELECT wanted.state, c.n FROM unnest($1::text[]) AS wanted(state)
   CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM (SELECT 1 FROM @schema.jobs WHERE state = wanted.state LIMIT $2) s) c`;
const OLDEST_PENDING = `SELECT min(created_at) AS at, ${NOW_MS} AS now FROM @schema.jobs WHERE state = 'pending'`;
/** $1 states, $2 created_at, $3 seq, $4 search (null: all), $5 limit. */
const PAGE = `
  SELECT j.* FROM unnest($1::text[]) AS wanted(state)
   CROSS JOIN LATERAL (
     SELECT * FROM @schema.jobs
      WHERE state = wanted.state AND (created_at, seq) < ($2::bigint, $3::bigint)
        AND ($4::text IS NULL OR strpos(id, $4) > 0 OR strpos(command, $4) > 0)
      ORDER BY created_at DESC, seq DESC LIMIT $5) j
   ORDER BY j.created_at DESC, j.seq DESC LIMIT $5`;
/** $1: the window in ms. */
const FINISHED = `FROM @schema.attempts WHERE finished_at >= ${NOW_MS} - $1::bigint AND outcome <> 'stopped'`;
const PER_MINUTE = `
  SELECT (finished_at / 60000) * 60000 AS minute, sum(${SUCCEEDED_SQL})::int AS ok, count(*)::int AS n ${FINISHED}
   GROUP BY minute ORDER BY minute`;
const BY_OUTCOME = `SELECT outcome, count(*)::int AS n ${FINISHED} GROUP BY outcome`;
const BY_WORKER = `SELECT worker_id, sum(${SUCCEEDED_SQL})::int AS ok, count(*)::int AS n ${FINISHED} GROUP BY worker_id ORDER BY n DESC LIMIT 100`;
/** $2: the offset. */
const DURATION_AT = `SELECT finished_at - started_at AS d ${FINISHED} ORDER BY d LIMIT 1 OFFSET $2`;
const DURATION_MAX = `SELECT max(finished_at - started_at) AS d, count(*)::int AS n, ${NOW_MS} AS now ${FINISHED}`;
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

export class PostgresStats {
  private readonly sql: (text: string) => string;

  constructor(private readonly access: { db: Database; schema: string }) {
    this.sql = (text) => withSchema(text, access.schema);
  }

  async countCapped(params: CountJobsCappedParams): Promise<CappedJobCounts> {
    const { db } = this.access;
    const [rows, oldest] = await Promise.all([
      db.query<{ state: JobState; n: number }>(this.sql(COUNT_CAPPED), [statesOrAll(undefined), params.cap]),
      db.query<{ at: number | null; now: number }>(this.sql(OLDEST_PENDING)),
    ]);
    const counts = emptyCounts();
    for (const row of rows) counts[row.state] = row.n;
    const capped = rows.filter((row) => row.n >= params.cap).map((row) => row.state);
    return { counts, capped, oldestPendingAt: oldest[0]!.at, now: oldest[0]!.now };
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
    const { db } = this.access;
    const window = [params.windowMs];
    const [minutes, outcomes, workers, totals] = await Promise.all([
      db.query<{ minute: number; ok: number; n: number }>(this.sql(PER_MINUTE), window),
      db.query<{ outcome: string; n: number }>(this.sql(BY_OUTCOME), window),
      db.query<{ worker_id: string; ok: number; n: number }>(this.sql(BY_WORKER), window),
      db.query<{ d: number | null; n: number; now: number }>(this.sql(DURATION_MAX), window),
    ]);
    const { d: max, n, now } = totals[0]!;
    const at = async (p: number) => (await db.query<{ d: number }>(this.sql(DURATION_AT), [params.windowMs, percentileOffset(n, p)]))[0]?.d ?? 0;
    const perMinute = minutes.map((r) => ({ minute: Number(r.minute), succeeded: r.ok, failed: r.n - r.ok }));
    const byOutcome: Record<string, number> = {};
    for (const r of outcomes) byOutcome[r.outcome] = r.n;
    const succeeded = perMinute.reduce((sum, m) => sum + m.succeeded, 0);
    return {
      now, since: now - params.windowMs, perMinute, succeeded, failed: n - succeeded, byOutcome,
      byWorker: workers.map((r) => ({ workerId: r.worker_id, succeeded: r.ok, failed: r.n - r.ok })),
      durationMs: max === null || n === 0 ? null : { p50: await at(0.5), p95: await at(0.95), max: Number(max) },
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
