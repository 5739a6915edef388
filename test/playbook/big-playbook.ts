/** A play of `n` shell tasks, each with a name, a free-form argument and a `when:`: the scale test's and the core bench's. */
export function bigPlaybookText(n: number): string {
  const lines = ['- hosts: all', '  tasks:'];
  for (let i = 0; i < n; i++) lines.push(`    - name: task ${i}`, `      shell: echo ${i} chdir=/tmp`, `      when: x > ${i}`);
  return lines.join('\n') + '\n';
}
