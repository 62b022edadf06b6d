/**
 * The Kubernetes Pod Security Standards, "restricted" profile (which includes
 * "baseline"), as a table of rules applied to every pod template `gen k8s`
 * writes, plus two hardening rules a platform review asks for on top
 * (read-only root filesystem, no service account token). Each rule names
 * the fields it reads and returns what violates it, so `gen --check` says
 * exactly which container breaks which rule.
 *
 * Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/
 * (policy version latest as of Kubernetes 1.27-1.31).
 */

export type PodSecurityLevel = 'baseline' | 'restricted' | 'hardening';

export interface PodSecurityRule {
  id: string;
  level: PodSecurityLevel;
  /** What the rule requires, as the standard words it. */
  requires: string;
  check(pod: PodTemplate): string[];
}

/** The parts of a pod template the rules read (anything else is ignored). */
export interface PodTemplate {
  annotations: Record<string, string>;
  spec: PodSpec;
}

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string };
  windowsOptions?: { hostProcess?: boolean };
  appArmorProfile?: { type?: string };
  sysctls?: { name: string }[];
}

interface Container {
  name?: string;
  ports?: { hostPort?: number }[];
  securityContext?: SecurityContext;
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext;
  volumes?: Record<string, unknown>[];
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
}

function containersOf(spec: PodSpec): Container[] {
  return [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
}

/** One message per container for which `bad` returns a reason. */
function perContainer(pod: PodTemplate, bad: (c: Container) => string | undefined): string[] {
  const problems: string[] = [];
  for (const container of containersOf(pod.spec)) {
    const reason = bad(container);
    if (reason) problems.push(`container ${container.name ?? '?'}: ${reason}`);
  }
  return problems;
}

const ALLOWED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);

export const POD_SECURITY_RULES: readonly PodSecurityRule[] = [
  {
    id: 'host-process',
    level: 'baseline',
    requires: 'no Windows HostProcess containers',
    check: (pod) => [
      ...(pod.spec.securityContext?.windowsOptions?.hostProcess
        ? ['pod: windowsOptions.hostProcess is true']
        : []),
      ...perContainer(pod, (c) =>
        c.securityContext?.windowsOptions?.hostProcess ? 'windowsOptions.hostProcess is true' : undefined,
      ),
    ],
  },
  {
    id: 'host-namespaces',
    level: 'baseline',
    requires: 'hostNetwork, hostPID and hostIPC unset or false',
    check: (pod) =>
      (['hostNetwork', 'hostPID', 'hostIPC'] as const)
        .filter((k) => pod.spec[k] === true)
        .map((k) => `pod: ${k} is true`),
  },
  {
    id: 'privileged',
    level: 'baseline',
    requires: 'no privileged containers',
    check: (pod) =>
      perContainer(pod, (c) => (c.securityContext?.privileged ? 'privileged is true' : undefined)),
  },
  {
    id: 'capabilities-baseline',
    level: 'baseline',
    requires: 'capabilities.add only from the baseline default set',
    check: (pod) =>
      perContainer(pod, (c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter(
          (cap) => !BASELINE_CAPABILITIES.has(cap),
        );
        return extra.length ? `adds ${extra.join(', ')}` : undefined;
      }),
  },
  {
    id: 'host-path-volumes',
    level: 'baseline',
    requires: 'no hostPath volumes',
    check: (pod) =>
      (pod.spec.volumes ?? [])
        .filter((v) => 'hostPath' in v)
        .map((v) => `volume ${String(v.name)}: hostPath`),
  },
  {
    id: 'host-ports',
    level: 'baseline',
    requires: 'no hostPort',
    check: (pod) =>
      perContainer(pod, (c) => ((c.ports ?? []).some((p) => p.hostPort) ? 'uses a hostPort' : undefined)),
  },
  {
    id: 'apparmor',
    level: 'baseline',
    requires: 'AppArmor unset, runtime/default or localhost/*',
    check: (pod) => {
      const problems = Object.entries(pod.annotations)
        .filter(([key]) => key.startsWith('container.apparmor.security.beta.kubernetes.io/'))
        .filter(([, value]) => value !== 'runtime/default' && !value.startsWith('localhost/'))
        .map(([key, value]) => `annotation ${key}: ${value}`);
      const profile = (sc?: SecurityContext) => sc?.appArmorProfile?.type === 'Unconfined';
      if (profile(pod.spec.securityContext)) problems.push('pod: appArmorProfile Unconfined');
      return [
        ...problems,
        ...perContainer(pod, (c) => (profile(c.securityContext) ? 'appArmorProfile Unconfined' : undefined)),
      ];
    },
  },
  {
    id: 'selinux',
    level: 'baseline',
    requires: 'SELinux type from the container set; user and role unset',
    check: (pod) => {
      const bad = (sc?: SecurityContext) => {
        const o = sc?.seLinuxOptions;
        if (!o) return undefined;
        if (o.user || o.role) return 'seLinuxOptions sets user or role';
        return SELINUX_TYPES.has(o.type ?? '') ? undefined : `seLinuxOptions.type ${o.type}`;
      };
      const podProblem = bad(pod.spec.securityContext);
      return [
        ...(podProblem ? [`pod: ${podProblem}`] : []),
        ...perContainer(pod, (c) => bad(c.securityContext)),
      ];
    },
  },
  {
    id: 'proc-mount',
    level: 'baseline',
    requires: 'procMount unset or Default',
    check: (pod) =>
      perContainer(pod, (c) => {
        const mount = c.securityContext?.procMount;
        return mount && mount !== 'Default' ? `procMount ${mount}` : undefined;
      }),
  },
  {
    id: 'sysctls',
    level: 'baseline',
    requires: 'only the safe sysctls',
    check: (pod) =>
      (pod.spec.securityContext?.sysctls ?? [])
        .filter((s) => !SAFE_SYSCTLS.has(s.name))
        .map((s) => `pod: sysctl ${s.name}`),
  },
  {
    id: 'volume-types',
    level: 'restricted',
    requires:
      'volumes of type configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected or secret',
    check: (pod) =>
      (pod.spec.volumes ?? []).flatMap((v) => {
        const types = Object.keys(v).filter((key) => key !== 'name');
        const bad = types.filter((type) => !ALLOWED_VOLUME_TYPES.has(type));
        return bad.length ? [`volume ${String(v.name)}: ${bad.join(', ')}`] : [];
      }),
  },
  {
    id: 'privilege-escalation',
    level: 'restricted',
    requires: 'allowPrivilegeEscalation: false on every container',
    check: (pod) =>
      perContainer(pod, (c) =>
        c.securityContext?.allowPrivilegeEscalation === false
          ? undefined
          : 'allowPrivilegeEscalation is not false',
      ),
  },
  {
    id: 'run-as-non-root',
    level: 'restricted',
    requires: 'runAsNonRoot: true on the pod or every container, never false on a container',
    check: (pod) => {
      const podLevel = pod.spec.securityContext?.runAsNonRoot === true;
      return perContainer(pod, (c) => {
        const own = c.securityContext?.runAsNonRoot;
        if (own === false) return 'runAsNonRoot is false';
        return own === true || podLevel ? undefined : 'runAsNonRoot is not set (pod or container)';
      });
    },
  },
  {
    id: 'run-as-user',
    level: 'restricted',
    requires: 'runAsUser never 0',
    check: (pod) => [
      ...(pod.spec.securityContext?.runAsUser === 0 ? ['pod: runAsUser is 0'] : []),
      ...perContainer(pod, (c) => (c.securityContext?.runAsUser === 0 ? 'runAsUser is 0' : undefined)),
    ],
  },
  {
    id: 'seccomp',
    level: 'restricted',
    requires: 'seccompProfile RuntimeDefault or Localhost on the pod or every container',
    check: (pod) => {
      const ok = (type?: string) => type === 'RuntimeDefault' || type === 'Localhost';
      const podType = pod.spec.securityContext?.seccompProfile?.type;
      return perContainer(pod, (c) => {
        const own = c.securityContext?.seccompProfile?.type;
        if (own !== undefined) return ok(own) ? undefined : `seccompProfile ${own}`;
        return ok(podType) ? undefined : 'no RuntimeDefault/Localhost seccompProfile (pod or container)';
      });
    },
  },
  {
    id: 'capabilities-restricted',
    level: 'restricted',
    requires: 'capabilities.drop includes ALL; add only NET_BIND_SERVICE',
    check: (pod) =>
      perContainer(pod, (c) => {
        const caps = c.securityContext?.capabilities;
        if (!(caps?.drop ?? []).includes('ALL')) return 'capabilities.drop does not include ALL';
        const extra = (caps?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
        return extra.length ? `adds ${extra.join(', ')}` : undefined;
      }),
  },
  {
    id: 'read-only-root-filesystem',
    level: 'hardening',
    requires: 'readOnlyRootFilesystem: true on every container (writable paths are emptyDirs)',
    check: (pod) =>
      perContainer(pod, (c) =>
        c.securityContext?.readOnlyRootFilesystem === true ? undefined : 'readOnlyRootFilesystem is not true',
      ),
  },
  {
    id: 'service-account-token',
    level: 'hardening',
    requires: 'automountServiceAccountToken: false (mcp-scale never calls the Kubernetes API)',
    check: (pod) =>
      pod.spec.automountServiceAccountToken === false
        ? []
        : ['pod: automountServiceAccountToken is not false'],
  },
];

/** The pod template of a workload object (Deployment, StatefulSet, DaemonSet, Job, Pod), if any. */
export function podTemplateOf(object: unknown): PodTemplate | undefined {
  const o = object as {
    kind?: string;
    metadata?: { annotations?: Record<string, string> };
    spec?: PodSpec & { template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSpec } };
  };
  if (o?.kind === 'Pod' && o.spec) return { annotations: o.metadata?.annotations ?? {}, spec: o.spec };
  const template = o?.spec?.template;
  if (template?.spec) return { annotations: template.metadata?.annotations ?? {}, spec: template.spec };
  return undefined;
}

/** Every rule violation of one object, `rule-id (level): detail`; empty when it passes or has no pods. */
export function checkPodSecurity(object: unknown): string[] {
  const pod = podTemplateOf(object);
  if (!pod) return [];
  const name = `${String((object as { kind?: string }).kind)}/${String((object as { metadata?: { name?: string } }).metadata?.name)}`;
  return POD_SECURITY_RULES.flatMap((rule) =>
    rule.check(pod).map((problem) => `${name}: ${rule.id} (${rule.level}: ${rule.requires}): ${problem}`),
  );
}
