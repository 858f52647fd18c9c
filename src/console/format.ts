/** Times as people read them: local date-times and short durations. */

export function formatDateTime(ms: number | undefined): string {
  if (!ms) return '—';
  return new Date(ms).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** The date and the time of day apart (a narrow table puts them on two lines). */
export function formatDateAndTime(ms: number): { date: string; time: string } {
  const at = new Date(ms);
  return {
    date: at.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' }),
    time: at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
  };
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1_000);
  if (minutes < 60) return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** A node or task title as text, whatever the schema put there (a number, nothing). */
export function titleText(title: unknown, fallback: string): string {
  if (typeof title === 'string' && title !== '') return title;
  if (typeof title === 'number' || typeof title === 'boolean') return String(title);
  return fallback;
}

export const STATUS_LABELS: Record<string, string> = {
  pending: 'pending',
  processing: 'running',
  waiting: 'waiting',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'canceled',
  skipped: 'skipped',
};
