/** 100,000 hosts in 50 racks (~5 MB of INI) with group vars: the scale test's and the core bench's inventory. */
export function bigIniText(): string {
  const lines: string[] = ['[all:vars]', 'ansible_user=deploy', ''];
  const groups = 50;
  for (let g = 0; g < groups; g++) {
    lines.push(`[rack${g}]`);
    for (let i = 0; i < 100_000 / groups; i++) lines.push(`node-${g}-${i}.dc1.example.com ansible_host=10.${g}.${i >> 8}.${i & 255} rack=${g}`);
    lines.push(`[rack${g}:vars]`, `zone=z${g % 3}`);
  }
  lines.push('[k8s:children]', ...Array.from({ length: groups }, (_, g) => `rack${g}`));
  return lines.join('\n') + '\n';
}
