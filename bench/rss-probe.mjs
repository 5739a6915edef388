// Preloaded into the nodesweep process by the benchmark: records its peak RSS when it exits.
import { writeFileSync } from 'node:fs';
const out = process.env.NODESWEEP_BENCH_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
