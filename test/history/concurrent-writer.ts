/** Child process for the concurrency test: opens the history database and records runs as fast as it can. */
import { openHistory, recordRun } from '../../src/history/db.js';
import { nodeFacts } from '../../src/history/node-facts.js';
import { Scenario } from '../report/scenario.js';
import { leaks, scanResult } from './fixtures.js';

const [path, who, countText] = process.argv.slice(2);
const count = Number(countText);
for (let i = 0; i < count; i++) {
  // open per run, as separate cron-started nodesweep processes do
  const db = openHistory(path!);
  const ev = new Scenario(`w${who}.yml`, [`node-${who}`]).startPlay('p', [`node-${who}`]).result('scan', 'cgroup_scan', `node-${who}`, 'ok', scanResult(leaks('pod', 2))).end().events;
  recordRun(db, nodeFacts(ev), { command: 'scan', now: 1_700_000_000 + i });
  db.close();
}
process.stdout.write('done\n');
