import cliProgress from 'cli-progress';

/** `phase` names the part of the work under way; the bar shows it beside the count. */
export type OnProgress = (done: number, total: number, phase?: string) => void;

/** Runs `work` with a progress bar on stderr, so that stdout stays clean for data. */
export async function withProgressBar<T>(label: string, work: (onProgress: OnProgress) => Promise<T>): Promise<T> {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label}{phase} [{bar}] {percentage}% | {value}/{total} | {duration_formatted} | ETA {eta_formatted}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
      // Long seeds run for minutes: the ETA should follow the current phase, not the first seconds.
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  try {
    return await work((done, total, phase) => {
      const payload = { phase: phase === undefined ? '' : ` ${phase.padEnd(11)}` };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done, payload);
      }
    });
  } finally {
    if (started) bar.stop();
  }
}

/** Progress only for runs long enough to want it: a short run prints nothing on stderr. */
export function afterOneSecond(onProgress: (done: number, total: number) => void): (done: number, total: number) => void {
  const started = performance.now();
  return (done, total) => {
    if (performance.now() - started >= 1000) onProgress(done, total);
  };
}
