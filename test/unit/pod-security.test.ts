import { describe, expect, it } from 'vitest';
import { checkPodSecurity, POD_SECURITY_RULES } from '../../src/gen/pod-security.js';

/** A Deployment that passes every rule: what `gen k8s` writes, reduced to what the rules read. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a fixture each case mutates at any depth
function compliant(): Record<string, any> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'app' },
    spec: {
      template: {
        metadata: { annotations: {} },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'main',
              ports: [{ containerPort: 8080 }],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
            },
          ],
          volumes: [
            { name: 'tmp', emptyDir: {} },
            { name: 'data', persistentVolumeClaim: { claimName: 'x' } },
          ],
        },
      },
    },
  };
}

type Manifest = ReturnType<typeof compliant>;
const pod = (m: Manifest) => m.spec.template.spec;
const main = (m: Manifest) => pod(m).containers[0];

/** Per rule: one change that breaks it (and only it, where the profile allows). */
const BREAKS: Record<string, (m: Manifest) => void> = {
  'host-process': (m) => (main(m).securityContext.windowsOptions = { hostProcess: true }),
  'host-namespaces': (m) => (pod(m).hostNetwork = true),
  privileged: (m) => (main(m).securityContext.privileged = true),
  'capabilities-baseline': (m) => (main(m).securityContext.capabilities.add = ['SYS_ADMIN']),
  'host-path-volumes': (m) => pod(m).volumes.push({ name: 'host', hostPath: { path: '/' } }),
  'host-ports': (m) => (main(m).ports[0].hostPort = 8080),
  apparmor: (m) =>
    (m.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/main'] =
      'unconfined'),
  selinux: (m) => (main(m).securityContext.seLinuxOptions = { user: 'root' }),
  'proc-mount': (m) => (main(m).securityContext.procMount = 'Unmasked'),
  sysctls: (m) => (pod(m).securityContext.sysctls = [{ name: 'kernel.msgmax', value: '1' }]),
  'volume-types': (m) => pod(m).volumes.push({ name: 'nfs', nfs: { server: 'x', path: '/' } }),
  'privilege-escalation': (m) => delete main(m).securityContext.allowPrivilegeEscalation,
  'run-as-non-root': (m) => delete pod(m).securityContext.runAsNonRoot,
  'run-as-user': (m) => (main(m).securityContext.runAsUser = 0),
  seccomp: (m) => (main(m).securityContext.seccompProfile = { type: 'Unconfined' }),
  'capabilities-restricted': (m) => (main(m).securityContext.capabilities = { drop: ['NET_RAW'] }),
  'read-only-root-filesystem': (m) => (main(m).securityContext.readOnlyRootFilesystem = false),
  'service-account-token': (m) => delete pod(m).automountServiceAccountToken,
};

const ruleIds = (problems: string[]) => new Set(problems.map((p) => p.split(': ')[1]?.split(' (')[0]));

describe('Pod Security "restricted" rules (gen --check)', () => {
  it('the compliant manifest passes every rule', () => {
    expect(checkPodSecurity(compliant())).toEqual([]);
  });

  it('every rule in the table has a failing case here', () => {
    expect(Object.keys(BREAKS).sort()).toEqual(POD_SECURITY_RULES.map((r) => r.id).sort());
  });

  for (const rule of POD_SECURITY_RULES) {
    it(`${rule.id} (${rule.level}): fails when broken, naming the rule and the container`, () => {
      const manifest = compliant();
      BREAKS[rule.id]!(manifest);
      const problems = checkPodSecurity(manifest);
      expect(ruleIds(problems).has(rule.id), problems.join('\n')).toBe(true);
      expect(problems.find((p) => p.includes(`${rule.id} (`))).toMatch(/^Deployment\/app: /);
    });
  }

  it('container-level settings count as well as pod-level ones', () => {
    const manifest = compliant();
    delete pod(manifest).securityContext.runAsNonRoot;
    delete pod(manifest).securityContext.seccompProfile;
    Object.assign(main(manifest).securityContext, {
      runAsNonRoot: true,
      seccompProfile: { type: 'Localhost' },
    });
    expect(checkPodSecurity(manifest)).toEqual([]);
  });

  it('objects without pods (Service, HPA) have nothing to check', () => {
    expect(checkPodSecurity({ apiVersion: 'v1', kind: 'Service', spec: { ports: [] } })).toEqual([]);
  });
});
