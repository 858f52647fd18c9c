export interface RetentionOptions {
  /** Finished tasks kept in memory. Default 1,000. */
  maxTasks?: number;
  /** How long a finished task stays in memory (ms). Default 1 hour. */
  maxAgeMs?: number;
}

/** What retention needs of a task (`Task` is one). */
export interface RetainedTask {
  readonly id: string;
  readonly ended: boolean;
  /** When it ended (epoch ms), once it has. */
  readonly endTime?: number;
  /** When retention took it in; 0 while it runs (or runs again). */
  endedAt: number;
}

const DEFAULT_RETENTION: Required<RetentionOptions> = { maxTasks: 1_000, maxAgeMs: 60 * 60 * 1000 };

/**
 * Which tasks the runtime's memory holds: every live task, and the ended ones (or ones waiting in a
 * store) until more than `maxTasks` ended after them or they are older than `maxAgeMs`.
 */
export class Retention<T extends RetainedTask = RetainedTask> {
  private readonly options: Required<RetentionOptions>;
  /** Ended tasks in the order they ended. */
  private readonly ended: T[] = [];
  private endedHead = 0;

  /** `tasks` is the runtime's map of known tasks: retention deletes from it what it lets go. */
  constructor(
    private readonly tasks: Map<string, T>,
    options: RetentionOptions = {},
  ) {
    this.options = { ...DEFAULT_RETENTION, ...options };
  }

  /** Keeps a task findable; one that has already ended goes into retention at once. */
  track(task: T): void {
    this.tasks.set(task.id, task);
    if (task.ended) this.retire(task);
  }

  /** True once the task went into retention (and has not run again since). */
  retired(task: T): boolean {
    return task.endedAt !== 0;
  }

  /** The task ended (or waits in a store): it stays in memory until pruned. */
  retire(task: T): void {
    task.endedAt = task.endTime ?? Date.now();
    this.ended.push(task);
    this.prune(task.endedAt);
  }

  /** The task runs again (a signal): retention keeps it until it ends (see `prune`). */
  reopen(task: T): void {
    task.endedAt = 0;
  }

  /** Lets go of the oldest retired tasks beyond `maxTasks` or older than `maxAgeMs` at `now`. */
  prune(now: number): void {
    const { maxTasks, maxAgeMs } = this.options;
    while (this.endedHead < this.ended.length) {
      const oldest = this.ended[this.endedHead];
      const count = this.ended.length - this.endedHead;
      if (count <= maxTasks && now - oldest.endedAt <= maxAgeMs) break;
      // A task retired while it waited may run again since (a signal): it stays until it ends.
      if (this.tasks.get(oldest.id) === oldest && oldest.endedAt !== 0) this.tasks.delete(oldest.id);
      this.endedHead++;
    }
    if (this.endedHead > 1024 && this.endedHead * 2 > this.ended.length) {
      this.ended.splice(0, this.endedHead);
      this.endedHead = 0;
    }
  }
}
