import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { rawModule } from '../../src/modules/raw.js';
import { runModule } from './ctx.js';

const raw = rawModule();

describe('raw', () => {
  test('runs the string as-is through sh, output unstripped', async () => {
    const r = await runModule(raw, { cmd: 'echo a | tr a b; echo e >&2' });
    assert.equal(r.status, 'changed');
    assert.equal(r.rc, 0);
    assert.equal(r.stdout, 'b\n');
    assert.deepEqual(r.stdout_lines, ['b']);
    assert.equal(r.stderr, 'e\n');
  });
  test('non-zero rc fails', async () => {
    const r = await runModule(raw, { cmd: 'exit 7' });
    assert.equal(r.status, 'failed');
    assert.equal(r.rc, 7);
    assert.equal(r.msg, 'non-zero return code');
  });
  test('executable runs the string with that interpreter', async () => {
    const r = await runModule(raw, { cmd: 'echo "$0"', executable: '/bin/sh' });
    assert.equal(r.stdout, '/bin/sh\n');
  });
  test('no check mode support (the executor skips it), free form and alias', () => {
    assert.equal(raw.supportsCheckMode, false);
    assert.equal(raw.freeForm, 'cmd');
    assert.ok(raw.aliases?.includes('ansible.builtin.raw'));
    assert.throws(() => raw.schema.parse({ cmd: 'x', chdir: '/' }));
  });
});
