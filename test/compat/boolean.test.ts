/**
 * The two boolean conversions against ansible-core's own functions (the Python that ansible-playbook runs, fed the
 * same table): convert_bool.boolean, strict and not, and the `bool` filter's to_bool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ansibleBoolean, boolFilter, NotABooleanError } from '../../src/compat/boolean.js';

const VALUES: unknown[] = [true, false, null, 'yes', 'Yes', 'YES', ' yes', 'yes ', 'y', 'Y', 't', 'T', 'true', 'True', 'on', 'ON', '1', ' 1', 'no', 'n', 'f', 'false', 'off', '0', '', 'maybe', '2', 1, 0, 2, -1, 1.5];

/** The ansible-playbook script's interpreter: the Python whose ansible-core it imports. */
function ansiblePython(): string {
  const shebang = readFileSync(execFileSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' }).trim(), 'utf8').split('\n')[0]!;
  return shebang.replace(/^#!\s*/, '').trim().split(/\s+/)[0]!;
}

function oracle(): { strict: unknown[]; lenient: unknown[]; filter: unknown[] } {
  const py = `
import json, sys
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.filter.core import to_bool
vals = json.load(sys.stdin)
def strict(v):
    try: return boolean(v, strict=True)
    except TypeError: return 'error'
print(json.dumps({'strict': [strict(v) for v in vals], 'lenient': [boolean(v, strict=False) for v in vals], 'filter': [to_bool(v) for v in vals]}))
`;
  return JSON.parse(execFileSync(ansiblePython(), ['-c', py], { input: JSON.stringify(VALUES), encoding: 'utf8' })) as { strict: unknown[]; lenient: unknown[]; filter: unknown[] };
}

test('ansibleBoolean and boolFilter give what ansible-core gives for every value of the table', () => {
  const want = oracle();
  const strict = VALUES.map((v) => {
    try {
      return ansibleBoolean(v);
    } catch (e) {
      assert.ok(e instanceof NotABooleanError);
      assert.match(e.message, /^The value '.*' is not a valid boolean\. {2}Valid booleans include: /);
      return 'error';
    }
  });
  const rows = (got: unknown[], exp: unknown[]) => VALUES.map((v, i) => `${JSON.stringify(v)} -> ${JSON.stringify(got[i])} (ansible ${JSON.stringify(exp[i])})`).filter((_, i) => got[i] !== exp[i]);
  // None through boolean(): Python's None is not in either set, as JSON null here
  assert.deepEqual(rows(strict, want.strict), []);
  assert.deepEqual(rows(VALUES.map((v) => ansibleBoolean(v, false)), want.lenient), []);
  assert.deepEqual(rows(VALUES.map(boolFilter), want.filter), []);
});
