/**
 * Oracle test: our inventory layer against the real Ansible 2.14 on the same files.
 * `ansible-inventory --list` / `--graph` (deep/exact equality), `ansible-playbook --list-hosts` for many patterns
 * per call (Ansible prints those hosts in set order, so compared as sets) and `ansible PATTERN --list-hosts` for
 * the order-sensitive cases. 25 Ansible calls, 3 at a time.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadInventory } from '../../src/inventory/load.js';
import { inventoryGraph, inventoryListJson } from '../../src/inventory/output.js';
import { applyLimit, selectHosts } from '../../src/inventory/patterns.js';
import type { Inventory } from '../../src/inventory/types.js';

interface Case {
  name: string;
  files: Record<string, string>;
  /** -i arguments, relative to the case directory (or a host list). */
  sources: string[];
  /** Patterns compared as sets through one ansible-playbook --list-hosts run. */
  patterns?: string[];
  /** Patterns compared in order through `ansible PATTERN --list-hosts`. */
  ordered?: string[];
  /** --limit applied to `patterns` through a second ansible-playbook run. */
  limit?: string;
  /** Compare --graph (and --graph --vars unless floats make Python's str() differ from ours). */
  graphVars?: boolean;
  noGraph?: boolean;
}

const CASES: Case[] = [
  {
    name: 'ini-basic',
    sources: ['hosts'],
    files: {
      hosts: `# comment
; another comment
lonely1 ansible_host=10.0.0.9
lonely2:2200

[web]
www[01:03].example.com:8022 http_port=8080 tls=True ratio=0.5 nothing=None
web-[a:c] tags="[1, 'x']" opts="{'k': [1, 2]}" text="two words"
gamma  ansible_user=root   # trailing comment

[web:vars]
ntp = ntp.example.com
count=3
flag=yes
listish=[1, 2]

[db]
db[1:10:4] ansible_port=5432
10.1.2.3
[2001:db8::1]:2222

[prod:children]
web
db
later

[later]
late-[08:10]

[all:vars]
env=prod
count=0
`,
    },
    patterns: ['all', '*', 'web', 'web:db', 'web,db', 'prod:!db', 'prod:&db', 'web*', '~www0[12].*', 'web[0]', 'web[-1]', 'web[1:3]', 'web[2:]', 'db[0]:web[0]', 'lonely1', '10.1.2.3', 'ungrouped', 'late-0*', '!web', 'nomatch', 'web:&nomatch', 'prod:&web:!www02.example.com', 'db-*'],
    ordered: ['prod:!db:lonely2,web[1:3]'],
    limit: 'web:late-09',
    graphVars: true,
  },
  {
    name: 'ini-vars-dirs',
    sources: ['inv/hosts.ini'],
    files: {
      'inv/hosts.ini': `[app]
app1 v=host_inline
app2
app3 ansible_port=2200

[app:vars]
v=app_inline
shared=app

[edge]
app2
edge1

[edge:vars]
v=edge_inline
shared=edge
ansible_group_priority=10

[region:children]
app
edge

[region:vars]
v=region_inline
only_region=1
`,
      'inv/group_vars/all.yml': 'v: gv_all\nfrom_all: yes\ncolors: [red, green]\n',
      'inv/group_vars/region.yaml': 'v: gv_region\nnested:\n  a: 1\n  b: {c: [1, 2]}\n',
      'inv/group_vars/app/10-base.yml': 'v: gv_app_base\napp_only: true\n',
      'inv/group_vars/app/20-over.yml': 'v: gv_app_over\n',
      'inv/group_vars/app/ignored.txt': 'v: never\n',
      'inv/group_vars/edge.json': '{"edge_json": 1.5, "shared": "edge_file"}',
      'inv/host_vars/app1.yml': 'v: hv_app1\nport_override: 22\n',
      'inv/host_vars/edge1': '---\nansible_host: 192.0.2.10\noctal: 010\nnot_octal: 08\nsexa: 1:20\nbool_on: on\nstr_y: y\nexp: 1e3\n',
      'inv/host_vars/app3/a.yml': 'a: 1\n',
      'inv/host_vars/app3/b.yml': 'a: 2\nb: 2\n',
    },
    patterns: ['region', 'app:&edge', 'edge:!app', 'region[1:]'],
    graphVars: true,
  },
  {
    name: 'yaml-basic',
    sources: ['inventory.yml'],
    files: {
      'inventory.yml': `all:
  vars:
    ansible_user: deploy
    retries: 3
  hosts:
    bastion.example.com:
      ansible_port: 2222
    plain:
  children:
    webservers:
      hosts:
        web[01:04]:
          role: web
        web-extra.example.com:2201:
      vars:
        http_port: 80
        limits: {cpu: 2, mem: "4G"}
      children:
        canary:
          hosts:
            web01:
            canary-[x:z]:
    dbservers:
      hosts: db1
      vars:
        ansible_group_priority: 5
        role: db
    monitoring:
      children:
        webservers:
        dbservers:
    empty_group:
k8s_nodes:
  hosts:
    node-[1:3]:
      ansible_become: yes
      kubelet_flags: ["--max-pods=110"]
`,
    },
    patterns: ['all', 'monitoring', 'canary', 'webservers:!canary', 'k8s_nodes:webservers[0]', 'node-*', '~^web0[23]$', 'monitoring:&dbservers', 'empty_group', 'plain'],
    ordered: ['k8s_nodes,monitoring'],
    graphVars: true,
  },
  {
    name: 'yaml-json-vars',
    sources: ['inv.json'],
    files: {
      'inv.json': JSON.stringify({
        all: {
          children: {
            frontend: { hosts: { f1: { weight: 1e3, tags: ['a', 'b'] }, f2: null }, vars: { tier: 'front' } },
            backend: { hosts: { b1: {}, f1: { dual: true } }, vars: { tier: 'back', ansible_group_priority: 3 } },
          },
          vars: { tier: 'none', big: 12345678901 },
        },
      }),
      'group_vars/frontend.yml': 'tier: front_file\n',
      'group_vars/all/main.yml': 'global: 1\n',
      'host_vars/b1.json': '{"tier": "b1_file"}',
      // Floats print as 1500.0 in Python; kept out of --graph --vars cases (JS numbers do not keep the ".0").
      'host_vars/f2.yml': 'float: 1.5e+3\nhalf: .5\nneg: -2.25\nhex: 0x1F\nbin: 0b101\nunderscored: 1_000\nnull_tilde: ~\ndate: 2024-01-02\nyes_str: "yes"\nOFF: OFF\n',
    },
    patterns: ['frontend:&backend', 'backend', 'f*'],
    noGraph: true,
  },
  {
    name: 'directory-source',
    sources: ['invdir'],
    files: {
      'invdir/01-static': `[bare]
bare1
bare2 color=blue
`,
      'invdir/02-cloud.yml': `all:
  children:
    cloud:
      hosts:
        vm-[1:2]:
      children:
        bare:
`,
      'invdir/03-ignored.ini': '[ignored]\nnever-seen\n',
      'invdir/README.md': '# not an inventory\n',
      'invdir/.hidden': '[hidden]\nhidden1\n',
      'invdir/group_vars/cloud.yml': 'provider: acme\n',
      'invdir/host_vars/bare1.yml': 'color: red\n',
    },
    patterns: ['cloud', 'bare', 'cloud:!bare', 'vm-1,bare2'],
    graphVars: true,
  },
  {
    name: 'multi-source',
    sources: ['one.ini', 'two.yml', 'h1,new-host:2022,'],
    files: {
      'one.ini': `h1 a=1
[g1]
h2 a=2
[g1:vars]
x=one
`,
      'two.yml': `g1:
  hosts:
    h1:
      b: 2
  vars:
    x: two
g2:
  hosts:
    h2:
  children:
    g1:
`,
      'group_vars/g2': 'from_g2: yes\n',
    },
    patterns: ['g2', 'g1:&h1', 'ungrouped', 'new-host', 'all:!g1'],
    ordered: ['g2'],
  },
  {
    name: 'ini-nested-priority',
    sources: ['nested'],
    files: {
      nested: `[a]
n1
[b]
n1
[c]
n1
n2
[a:vars]
who=a
[b:vars]
who=b
ansible_group_priority=0
[c:vars]
who=c
[top:children]
mid
[mid:children]
c
[top:vars]
who=top
depth_marker=top
[mid:vars]
depth_marker=mid
`,
    },
    patterns: ['top', 'mid[0]', 'top:!a', '~n'],
    graphVars: true,
  },
  {
    name: 'hostlist-only',
    sources: ['alpha,beta.example.com,10.0.0.5:2200,'],
    files: {},
    noGraph: true,
  },
];

function run(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolveP, reject) => {
    execFile(
      cmd,
      args,
      { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolveP(stdout);
      },
    );
  });
}

/** Runs thunks with a bounded number in flight. */
async function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}

function playbookFor(patterns: string[]): string {
  return patterns.map((p) => `- hosts: ${JSON.stringify(p)}\n  gather_facts: false\n  tasks: []\n`).join('');
}

/** Parses `ansible-playbook --list-hosts` output into one host list per play. */
function parsePlaybookHosts(out: string): string[][] {
  const plays: string[][] = [];
  let cur: string[] | undefined;
  for (const line of out.split('\n')) {
    if (/^\s+hosts \(\d+\):/.test(line)) {
      cur = [];
      plays.push(cur);
    } else if (cur && /^ {6}\S/.test(line)) cur.push(line.trim());
    else if (!/^ {6}/.test(line)) cur = undefined;
  }
  return plays;
}

function parseAdhocHosts(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => /^ {4}\S/.test(l))
    .map((l) => l.trim());
}

interface Oracle {
  list: unknown;
  graph: string;
  graphVars?: string;
  playHosts?: string[][];
  limitedHosts?: string[][];
  ordered: string[][];
}

describe('inventory vs ansible 2.14 (oracle)', () => {
  let root: string;
  const oracle = new Map<string, Oracle>();
  const ours = new Map<string, Inventory>();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'nodesweep-inv-oracle-'));
    for (const c of CASES) {
      const dir = join(root, c.name);
      await mkdir(dir, { recursive: true });
      for (const [rel, text] of Object.entries(c.files)) {
        await mkdir(dirname(join(dir, rel)), { recursive: true });
        await writeFile(join(dir, rel), text);
      }
      if (c.patterns) await writeFile(join(dir, 'pb.yml'), playbookFor(c.patterns));
    }
    const jobs: (() => Promise<void>)[] = [];
    for (const c of CASES) {
      const dir = join(root, c.name);
      const iArgs = c.sources.flatMap((s) => ['-i', s]);
      const o: Oracle = { list: undefined, graph: '', ordered: [] };
      oracle.set(c.name, o);
      jobs.push(async () => {
        o.list = JSON.parse(await run('ansible-inventory', [...iArgs, '--list'], dir));
      });
      if (!c.noGraph) {
        // One call gives both: the plain graph is the --vars graph without its `{name = value}` lines.
        jobs.push(async () => {
          const withVars = (await run('ansible-inventory', [...iArgs, '--graph', '--vars'], dir)).trimEnd();
          o.graphVars = withVars;
          o.graph = withVars
            .split('\n')
            .filter((l) => !/--\{.* = .*\}$/.test(l))
            .join('\n');
        });
      }
      if (c.patterns) {
        jobs.push(async () => {
          o.playHosts = parsePlaybookHosts(await run('ansible-playbook', [...iArgs, 'pb.yml', '--list-hosts'], dir));
        });
        if (c.limit) {
          const limit = c.limit;
          jobs.push(async () => {
            o.limitedHosts = parsePlaybookHosts(await run('ansible-playbook', [...iArgs, 'pb.yml', '--list-hosts', '--limit', limit], dir));
          });
        }
      }
      for (const [i, p] of (c.ordered ?? []).entries()) {
        jobs.push(async () => {
          o.ordered[i] = parseAdhocHosts(await run('ansible', [...iArgs, p, '--list-hosts'], dir));
        });
      }
    }
    const loadOurs = (async () => {
      for (const c of CASES) {
        const dir = join(root, c.name);
        ours.set(c.name, await loadInventory(c.sources.map((s) => (s.includes(',') ? s : join(dir, s)))));
      }
    })();
    await Promise.all([pool(jobs, 3), loadOurs]);
  });

  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  for (const c of CASES) {
    test(`${c.name}: --list`, () => {
      assert.deepStrictEqual(JSON.parse(JSON.stringify(inventoryListJson(ours.get(c.name)!))), oracle.get(c.name)!.list);
    });
    if (!c.noGraph) {
      test(`${c.name}: --graph`, () => {
        assert.equal(inventoryGraph(ours.get(c.name)!), oracle.get(c.name)!.graph);
      });
    }
    if (c.graphVars) {
      test(`${c.name}: --graph --vars`, () => {
        assert.equal(inventoryGraph(ours.get(c.name)!, 'all', { vars: true }), oracle.get(c.name)!.graphVars);
      });
    }
    if (c.patterns) {
      test(`${c.name}: patterns`, () => {
        const inv = ours.get(c.name)!;
        const theirs = oracle.get(c.name)!.playHosts!;
        assert.equal(theirs.length, c.patterns!.length, 'one host list per play');
        c.patterns!.forEach((p, i) => {
          assert.deepStrictEqual([...selectHosts(inv, p)].sort(), [...theirs[i]!].sort(), `pattern ${p}`);
        });
      });
      if (c.limit) {
        test(`${c.name}: patterns with --limit ${c.limit}`, () => {
          const inv = ours.get(c.name)!;
          const theirs = oracle.get(c.name)!.limitedHosts!;
          c.patterns!.forEach((p, i) => {
            const got = applyLimit(inv, selectHosts(inv, p), c.limit);
            assert.deepStrictEqual([...got].sort(), [...theirs[i]!].sort(), `pattern ${p} --limit ${c.limit}`);
          });
        });
      }
    }
    if (c.ordered?.length) {
      test(`${c.name}: pattern order`, () => {
        const inv = ours.get(c.name)!;
        c.ordered!.forEach((p, i) => assert.deepStrictEqual(selectHosts(inv, p), oracle.get(c.name)!.ordered[i], `pattern ${p}`));
      });
    }
  }
});
