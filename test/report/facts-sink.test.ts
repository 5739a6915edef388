/** Which playbooks record in the default history database: those that use a module whose results are node facts. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlaybook } from '../../src/playbook/load.js';
import { builtinModules } from '../../src/modules/index.js';
import { playbookGathersFacts } from '../../src/report/facts-sink.js';

const play = (tasks: string, extra = '') => `- hosts: all\n  gather_facts: false\n${extra}  tasks:\n${tasks}`;

describe('playbookGathersFacts', () => {
  const cases: { name: string; yaml: string; facts: boolean }[] = [
    { name: 'shell tasks only', yaml: play('    - shell: uptime\n    - debug: { msg: hi }\n'), facts: false },
    { name: 'a cgroup_scan task', yaml: play('    - cgroup_scan: {}\n'), facts: true },
    { name: 'cgroup_prune inside a block', yaml: play('    - block:\n        - cgroup_prune: {}\n'), facts: true },
    { name: 'crio_restart in a rescue', yaml: play('    - block:\n        - command: "true"\n      rescue:\n        - crio_restart: {}\n'), facts: true },
    { name: 'cgroup_scan in an always', yaml: play('    - block:\n        - command: "true"\n      always:\n        - cgroup_scan: {}\n'), facts: true },
    { name: 'crio_restart as a handler', yaml: play('    - command: "true"\n', '  handlers:\n    - name: restart crio\n      crio_restart: {}\n'), facts: true },
    { name: 'a second play that scans', yaml: play('    - shell: uptime\n') + play('    - cgroup_scan: {}\n'), facts: true },
    { name: 'kube modules alone', yaml: play('    - kube_cordon: { node: n1 }\n'), facts: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const pb = parsePlaybook(c.yaml, 'site.yml', { modules: builtinModules() });
      assert.equal(playbookGathersFacts(pb), c.facts);
    });
  }
  test('the shipped scan and prune playbooks gather facts', async () => {
    const { loadPlaybook } = await import('../../src/playbook/load.js');
    for (const f of ['playbooks/scan-leaked-cgroups.yml', 'playbooks/prune-leaked-cgroups.yml']) {
      assert.equal(playbookGathersFacts(await loadPlaybook(f, { modules: builtinModules() })), true, f);
    }
  });
});
