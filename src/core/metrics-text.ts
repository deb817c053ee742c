import { JOB_STATES, type JobCounts } from './job';

/*
 * The Prometheus text exposition (format 0.0.4) of a queue: what `/metrics` serves and `queuectl metrics` prints for a
 * node_exporter textfile collector. Pure: the Queue gathers the figures.
 */

/** Run-duration histogram bounds, in seconds. */
export const DURATION_BUCKETS_S = [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600];

export interface MetricsFigures {
  counts: JobCounts;
  finished: { outcome: string; succeeded: boolean; count: number }[];
  histogram: { le: number; count: number }[];
  durationCount: number;
  durationSumMs: number;
  activeWorkers: number;
  busyWorkers: number;
  oldestPendingAgeMs: number | null;
}

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

export function metricsText(f: MetricsFigures): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [labels: string, value: number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric('queuectl_jobs', 'gauge', 'Jobs in the store, by state.', JOB_STATES.map((state) => [`{state="${state}"}`, f.counts[state]]));
  metric('queuectl_attempts_finished_total', 'counter', 'Attempts finished and still kept (purge removes them), by outcome.',
    f.finished.map((r) => [`{outcome="${escapeLabel(r.outcome)}",result="${r.succeeded ? 'success' : 'failure'}"}`, r.count]));
  metric('queuectl_run_duration_seconds', 'histogram', 'Run time of finished attempts.', [
    ...f.histogram.map((b): [string, number] => [`_bucket{le="${b.le / 1000}"}`, b.count]),
    ['_bucket{le="+Inf"}', f.durationCount],
    ['_sum', f.durationSumMs / 1000],
    ['_count', f.durationCount],
  ]);
  // The histogram's samples carry suffixes: HELP/TYPE name the family, samples name family + suffix.
  metric('queuectl_workers_active', 'gauge', 'Workers alive (fresh heartbeat).', [['', f.activeWorkers]]);
  metric('queuectl_workers_busy', 'gauge', 'Workers alive and running a job.', [['', f.busyWorkers]]);
  metric('queuectl_oldest_pending_age_seconds', 'gauge', 'Age of the oldest pending job (0 when none).', [['', f.oldestPendingAgeMs === null ? 0 : f.oldestPendingAgeMs / 1000]]);
  return `${lines.join('\n')}\n`;
}
