import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system, ms) of this process's main thread alone, from Linux's /proc (the main
 * thread's id is the process id); undefined elsewhere. process.cpuUsage() would count the load
 * generator's worker thread too. The clock ticks are 10 ms: a figure over seconds of work is good to
 * about 1%. Waiting for a core does not count, so on a loaded machine this moves far less than
 * requests per second do.
 */
export function mainThreadCpuMs(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime; USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
