/**
 * The recap of a representative playbook, run by real ansible-playbook (-c local) and by our executor:
 * the per-host numbers and the exit code must be the same. One ansible-playbook run (they are slow).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePlaybook } from '../../src/playbook/load.js';
import { builtinModules } from '../../src/modules/index.js';
import { runPlaybook } from '../../src/executor/run.js';
import type { HostStats } from '../../src/events/events.js';
import { harness, inventory } from './harness.js';
import { ansiblePlaybook } from '../helpers/ansible.js';

const PLAYBOOK = `
- name: compare
  hosts: all
  gather_facts: false
  tasks:
    - name: ok task
      command: "true"
      changed_when: false
    - name: changed task
      shell: echo hi
      notify: h1
    - name: only host1
      debug:
        msg: x
      when: inventory_hostname == 'host1'
    - name: loop
      shell: "echo {{ item }}"
      loop: [1, 2]
    - name: loop partly skipped
      debug:
        msg: "{{ item }}"
      loop: [1, 2, 3]
      when: item != 2
    - name: ignored failure
      shell: exit 1
      ignore_errors: true
      when: inventory_hostname == 'host2'
    - block:
        - name: fail on host3
          command: /bin/false
          when: inventory_hostname == 'host3'
        - name: rest of block
          debug:
            msg: fine
      rescue:
        - name: rescue
          debug:
            msg: "rescued {{ ansible_failed_task.name }}"
      always:
        - name: always
          debug:
            msg: always
    - name: set a fact
      set_fact:
        x: 1
    - name: retry until
      shell: echo 1
      register: r
      until: r.stdout == '1'
      retries: 2
      delay: 0
    - name: fail host2 for real
      fail:
        msg: bye
      when: inventory_hostname == 'host2'
    - name: after
      debug:
        msg: after
  handlers:
    - name: h1
      debug:
        msg: handler
- name: second play
  hosts: all
  gather_facts: false
  tasks:
    - name: p2
      debug:
        msg: "{{ x }}"
`;

function parseRecap(out: string): Record<string, HostStats> {
  const stats: Record<string, HostStats> = {};
  const re = /^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)/gm;
  for (const m of out.matchAll(re)) {
    const n = m.slice(2).map(Number) as [number, number, number, number, number, number, number];
    stats[m[1]!] = { ok: n[0], changed: n[1], unreachable: n[2], failed: n[3], skipped: n[4], rescued: n[5], ignored: n[6] };
  }
  return stats;
}

test('recap and exit code match ansible-playbook for a representative playbook', { timeout: 200_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ns-oracle-'));
  try {
    const file = join(dir, 'pb.yml');
    writeFileSync(file, PLAYBOOK);
    const [theirs, ours] = await Promise.all([
      ansiblePlaybook(dir, ['-i', 'host1,host2,host3,', '-c', 'local', file]),
      (async () => {
        const h = harness();
        const pb = parsePlaybook(PLAYBOOK, file, { modules: builtinModules() });
        return runPlaybook(pb, inventory(3), h.ctx);
      })(),
    ]);
    const want = parseRecap(theirs.stdout);
    assert.deepEqual(Object.keys(want).sort(), ['host1', 'host2', 'host3'], theirs.stdout);
    assert.deepEqual(ours.stats, want);
    assert.equal(ours.exitCode, theirs.code);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
