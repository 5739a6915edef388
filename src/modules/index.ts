/** The built-in modules. Later issues add the cgroup and kube modules here. */
import { ModuleRegistry } from './registry.js';
import type { ModuleDefinition } from './types.js';
import { shellModule } from './shell.js';
import { commandModule } from './command.js';
import { rawModule } from './raw.js';
import { setFactModule } from './set_fact.js';
import { debugModule } from './debug.js';
import { assertModule } from './assert.js';
import { failModule } from './fail.js';
import { systemdServiceModule } from './systemd_service.js';
import { cgroupScanModule } from './cgroup_scan.js';
import { cgroupPruneModule } from './cgroup_prune.js';
import { kubeLockModule } from './kube_lock.js';
import { kubeCordonModule, kubeUncordonModule } from './kube_cordon.js';
import { kubeDrainModule } from './kube_drain.js';
import { kubeWaitReadyModule } from './kube_wait_ready.js';
import { crioRestartModule } from './crio_restart.js';

export function builtinModules(): ModuleRegistry {
  const reg = new ModuleRegistry();
  const defs: ModuleDefinition[] = [
    shellModule(),
    commandModule(),
    rawModule(),
    setFactModule(),
    debugModule(),
    assertModule(),
    failModule(),
    systemdServiceModule(),
    cgroupScanModule(),
    cgroupPruneModule(),
    kubeLockModule(),
    kubeCordonModule(),
    kubeUncordonModule(),
    kubeDrainModule(),
    kubeWaitReadyModule(),
    crioRestartModule(),
  ];
  for (const d of defs) reg.register(d);
  return reg;
}
