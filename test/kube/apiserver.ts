/**
 * The Kubernetes API stand-in lives in src/lab/kube-api.ts (the lab serves it to `nodesweep lab` fleets); the tests
 * import it from here, with fault injection (transient 5xx, 409, 429) and RBAC denials (403) that only tests need.
 */
import { FakeKubeApi, qualifiedResource, type RequestInfo } from '../../src/lab/kube-api.js';

export * from '../../src/lab/kube-api.js';

export interface Injection {
  match: (r: RequestInfo) => boolean;
  status: number;
  /** How many requests get it (default 1). */
  times?: number;
  reason?: string;
  message?: string;
}

/** The stand-in plus injected failures: the first matching injection with uses left answers instead of the server. */
export class TestKubeApi extends FakeKubeApi {
  readonly injections: Injection[] = [];
  /** Deny requests matching this (403 with the real Forbidden Status, as RBAC gives it). */
  forbid: ((r: RequestInfo) => boolean) | undefined;

  inject(i: Injection): void {
    this.injections.push({ times: 1, ...i });
  }

  protected override answerFirst(info: RequestInfo): { status: number; body: Record<string, unknown> } | undefined {
    if (this.forbid?.(info)) {
      const what = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
      const scope = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
      return {
        status: 403,
        body: this.status(
          403,
          `${qualifiedResource(info.resource)}${info.name ? ` "${info.name}"` : ''} is forbidden: User "system:serviceaccount:ops:nodesweep" cannot ${info.verb} resource "${what}" in API group "${info.group}" ${scope}`,
          { details: { ...(info.name ? { name: info.name } : {}), kind: info.resource } },
        ),
      };
    }
    for (const inj of this.injections) {
      if ((inj.times ?? 1) > 0 && inj.match(info)) {
        inj.times = (inj.times ?? 1) - 1;
        return { status: inj.status, body: this.status(inj.status, inj.message ?? `injected ${inj.status}`, inj.reason ? { reason: inj.reason } : {}) };
      }
    }
    return undefined;
  }
}
