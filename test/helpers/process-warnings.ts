/**
 * The process warnings emitted while a test listens: heard here instead of printed into the test
 * run's output, so a test that provokes one asserts it and a test that must emit none can say so.
 */
export interface HeardWarnings {
  /** `name: message` of each warning so far, in order. */
  readonly heard: string[];
  /** Puts the printers back, after the warnings emitted so far (delivered on a later tick) are heard; once. */
  stop(): Promise<void>;
}

export function hearWarnings(): HeardWarnings {
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  const heard: string[] = [];
  let stopped = false;
  const listener = (warning: Error): void => void heard.push(`${warning.name}: ${warning.message}`);
  process.on('warning', listener);
  return {
    heard,
    async stop() {
      if (stopped) return;
      stopped = true;
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', listener);
      for (const printer of printers) process.on('warning', printer);
    },
  };
}
