import cliProgress from 'cli-progress';

export type OnProgress = (done: number, total: number) => void;

/** Runs `work` with a progress bar on stderr, so that stdout stays clean for data. */
export async function withProgressBar<T>(label: string, work: (onProgress: OnProgress) => Promise<T>): Promise<T> {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  try {
    return await work((done, total) => {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    });
  } finally {
    if (started) bar.stop();
  }
}
