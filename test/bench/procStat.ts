import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second, the unit of /proc's CPU times. */
const CLK_TCK = (() => {
	try {
		return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
	} catch {
		return 100;
	}
})();

/** CPU time (user and system) of a process so far, ms. */
export function processCpuMs(pid: number): { user: number; system: number } {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	// Fields after "(comm)": state is field 3, utime 14, stime 15.
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	return { user: (Number(fields[11]) * 1000) / CLK_TCK, system: (Number(fields[12]) * 1000) / CLK_TCK };
}

/** The machine's busy and total CPU time so far, ms (all cores). */
export function machineCpuMs(): { busy: number; total: number } {
	const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
	const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
	const total = ticks.reduce((a, b) => a + b, 0);
	const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
	return { busy: ((total - idle) * 1000) / CLK_TCK, total: (total * 1000) / CLK_TCK };
}
