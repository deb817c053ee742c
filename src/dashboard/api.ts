import { UsageError } from '../core/errors';
import type { JobSpecInput } from '../core/job-spec';
import { attemptToJson, jobToJson } from '../core/serialize';
import { statsToJson } from '../core/stats-json';
import type { Queue } from '../queue';

/*
 * The dashboard's JSON API (documented in README.md, "Dashboard"). Every route goes through the Queue, the same
 * operations the CLI runs; none touches the store. A route returns the value to send as JSON; errors are thrown and
 * mapped to a status by the server.
 */

export interface ApiRequest {
  method: string;
  /** The path's segments after `/api/`, each decoded. */
  segments: string[];
  query: URLSearchParams;
  /** The parsed JSON body of a POST (an object), else undefined. */
  body: Record<string, unknown> | undefined;
}

/** The overview's window: throughput and failures over the last hour. */
const OVERVIEW_WINDOW_MS = 3_600_000;

export class RouteNotFound extends Error {}

const optional = (query: URLSearchParams, name: string): string | undefined => query.get(name) ?? undefined;

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`${name}: expected a whole number, got '${text.slice(0, 20)}'`);
  return Number(text);
}

function idList(body: Record<string, unknown> | undefined): string[] {
  const ids = body?.ids;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > 1000 || !ids.every((id) => typeof id === 'string')) {
    throw new UsageError("expected a JSON body {\"ids\": [\"job id\", …]} with 1 to 1000 ids");
  }
  return ids as string[];
}

export async function handleApi(queue: Queue, req: ApiRequest): Promise<unknown> {
  const [head, id, action, ...rest] = req.segments;
  // Job ids are the one variable part: /api/jobs/<id>[/action]; every other path is fixed.
  const idPart = id === undefined ? '' : head === 'jobs' ? ':id' : id;
  const route = `${req.method} ${[head, idPart, action ?? ''].filter((part) => part !== '').join('/')}`;
  if (rest.length > 0) throw new RouteNotFound();
  switch (route) {
    case 'GET overview':
      return { ...statsToJson(await queue.stats({ windowMs: OVERVIEW_WINDOW_MS })), store: queue.location };
    case 'GET jobs':
    case 'GET dlq': {
      const page = await queue.jobPage({
        state: head === 'dlq' ? 'dead' : optional(req.query, 'state'),
        search: optional(req.query, 'search'),
        limit: integerParam(req.query, 'limit'),
        after: optional(req.query, 'after'),
      });
      return { jobs: page.jobs.map(jobToJson), next: page.next };
    }
    case 'POST jobs': {
      const [job] = await queue.add(req.body as unknown as JobSpecInput);
      return { job: jobToJson(job!) };
    }
    case 'GET jobs/:id': {
      const { job, attempts } = await queue.show(id!);
      return { job: jobToJson(job), attempts: attempts.map(attemptToJson) };
    }
    case 'GET jobs/:id/output': {
      // The attempt's chunks after `after`; `running` says whether more may come (follow until it is false).
      const { job, attempts } = await queue.show(id!);
      const attempt = integerParam(req.query, 'attempt') ?? attempts[attempts.length - 1]?.attempt;
      const chunks = attempt === undefined ? [] : await queue.outputSince(id!, attempt, integerParam(req.query, 'after') ?? 0);
      const record = attempts.find((a) => a.attempt === attempt);
      return {
        state: job.state,
        attempt: attempt ?? null,
        running: record !== undefined && record.finishedAt === null && job.state === 'processing',
        truncated: record?.outputTruncated ?? false,
        chunks: chunks.map((c) => ({ seq: c.seq, stream: c.stream, data: c.data })),
      };
    }
    case 'POST jobs/:id/cancel': {
      const signal = typeof req.body?.signal === 'string' ? req.body.signal : 'SIGTERM';
      return { results: await queue.cancel([id!], signal) };
    }
    case 'POST dlq/retry':
      return { retried: req.body?.all === true ? await queue.dlqRetry({ all: true }) : await queue.dlqRetry({ ids: idList(req.body) }) };
    case 'POST dlq/delete':
      return { deleted: await queue.dlqDelete(idList(req.body)) };
    case 'GET config':
      return { config: (await queue.configList()).map(({ key, value, source, description }) => ({ key, value, source, description })) };
    default:
      throw new RouteNotFound();
  }
}
