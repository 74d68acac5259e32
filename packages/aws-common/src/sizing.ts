/**
 * Sizing by cpu / memoryMB (the Python operator did not implement it on AWS). The smallest
 * configured class that meets both wins; when no class does, the smallest instance type of a
 * built-in table. Capacities of configured classes come from the class itself (`cpu`,
 * `memory_mb`) or, for known instance types, from INSTANCE_TYPES.
 */
import { unchangedSincePythonOperator, type ServerRequest } from '@hybridcloud-postgresql/core';

export interface Capacity {
  cpu: number;
  memoryMb: number;
}

const GIB = 1024;
const SIZES: Array<[string, number, number]> = [
  // size, vCPU, memory GiB for the general purpose (m) family; r doubles the memory.
  ['large', 2, 8], ['xlarge', 4, 16], ['2xlarge', 8, 32], ['4xlarge', 16, 64], ['8xlarge', 32, 128],
  ['12xlarge', 48, 192], ['16xlarge', 64, 256], ['24xlarge', 96, 384],
];

function buildTable(): Record<string, Capacity> {
  const t: Record<string, Capacity> = {};
  for (const fam of ['t3', 't4g']) {
    t[`db.${fam}.micro`] = { cpu: 2, memoryMb: 1 * GIB };
    t[`db.${fam}.small`] = { cpu: 2, memoryMb: 2 * GIB };
    t[`db.${fam}.medium`] = { cpu: 2, memoryMb: 4 * GIB };
    t[`db.${fam}.large`] = { cpu: 2, memoryMb: 8 * GIB };
    t[`db.${fam}.xlarge`] = { cpu: 4, memoryMb: 16 * GIB };
    t[`db.${fam}.2xlarge`] = { cpu: 8, memoryMb: 32 * GIB };
  }
  for (const fam of ['m5', 'm6g', 'm6i', 'm7g', 'm7i']) for (const [size, cpu, mem] of SIZES) t[`db.${fam}.${size}`] = { cpu, memoryMb: mem * GIB };
  for (const fam of ['r5', 'r6g', 'r6i', 'r7g', 'r7i']) for (const [size, cpu, mem] of SIZES) t[`db.${fam}.${size}`] = { cpu, memoryMb: mem * 2 * GIB };
  return t;
}

/** vCPU and memory of RDS instance types (AWS documentation, "DB instance classes"). */
export const INSTANCE_TYPES: Readonly<Record<string, Capacity>> = buildTable();

/** Instance types picked when no configured class fits (RDS for PostgreSQL, Graviton). */
export const RDS_FALLBACK_TYPES: readonly string[] = [
  'db.t4g.micro', 'db.t4g.small', 'db.t4g.medium',
  ...SIZES.filter(([s]) => s !== '24xlarge').flatMap(([s]) => [`db.m6g.${s}`, `db.r6g.${s}`]),
];

/** Instance types Aurora PostgreSQL accepts, for the same purpose. */
export const AURORA_FALLBACK_TYPES: readonly string[] = [
  'db.t4g.medium',
  ...SIZES.filter(([s]) => s !== '24xlarge').map(([s]) => `db.r6g.${s}`),
];

export interface SizeRequest {
  class?: string | undefined;
  cpu?: number | undefined;
  memoryMB?: number | undefined;
}

export type SizeChoice<C> =
  | { kind: 'class'; name: string; cls: C; warning?: { reason: string; message: string } }
  | { kind: 'type'; instanceType: string; capacity: Capacity }
  | { kind: 'none'; message: string };

/**
 * Chooses a class (or an instance type) for the request.
 * - `class` set → that class; unknown → the default class with a warning (as the seed says).
 * - `cpu` / `memoryMB` → the smallest fitting class, else the smallest fitting fallback type.
 * - nothing → the default class.
 */
export function chooseSize<C>(
  req: SizeRequest | undefined,
  classes: Record<string, C>,
  defaultClass: string,
  capacityOf: (cls: C) => Capacity | undefined,
  fallbackTypes: readonly string[],
): SizeChoice<C> {
  const byDefault = (warning?: { reason: string; message: string }): SizeChoice<C> => {
    const cls = classes[defaultClass];
    if (cls === undefined) return { kind: 'none', message: `the default class '${defaultClass}' is not configured` };
    return warning ? { kind: 'class', name: defaultClass, cls, warning } : { kind: 'class', name: defaultClass, cls };
  };
  if (req?.class) {
    const cls = classes[req.class];
    if (cls !== undefined) return { kind: 'class', name: req.class, cls };
    const known = Object.keys(classes).join(', ') || 'none';
    return byDefault({ reason: 'UnknownClass', message: `size class '${req.class}' does not exist (available: ${known}); using the default class '${defaultClass}'` });
  }
  if (req?.cpu !== undefined || req?.memoryMB !== undefined) {
    const cpu = req.cpu ?? 0;
    const mem = req.memoryMB ?? 0;
    const fits = (c: Capacity | undefined): c is Capacity => c !== undefined && c.cpu >= cpu && c.memoryMb >= mem;
    const smaller = (a: Capacity, b: Capacity) => a.cpu - b.cpu || a.memoryMb - b.memoryMb;
    let best: { name: string; cls: C; cap: Capacity } | undefined;
    for (const [name, cls] of Object.entries(classes)) {
      const cap = capacityOf(cls);
      if (fits(cap) && (!best || smaller(cap, best.cap) < 0)) best = { name, cls, cap };
    }
    if (best) return { kind: 'class', name: best.name, cls: best.cls };
    let type: { instanceType: string; cap: Capacity } | undefined;
    for (const t of fallbackTypes) {
      const cap = INSTANCE_TYPES[t];
      if (fits(cap) && (!type || smaller(cap, type.cap) < 0)) type = { instanceType: t, cap };
    }
    if (type) return { kind: 'type', instanceType: type.instanceType, capacity: type.cap };
    return { kind: 'none', message: `no configured class and no instance type offers ${cpu} CPUs and ${mem} MB memory` };
  }
  return byDefault();
}

/**
 * The class a request runs with, from chooseSize's answer: a configured class (its warning, if
 * any, goes to `warnings`), or for an instance type picked by cpu/memory an ad-hoc class
 * `auto:<type>` that keeps the default class's storage type. validate() reports 'none' first, so
 * reaching it here is a bug.
 */
export function resolvedClass<C extends { instance_type: string; storage_type?: string | undefined }>(
  choice: SizeChoice<C>,
  classes: Record<string, C>,
  defaultClass: string,
  warnings: Array<{ reason: string; message: string }>,
): { cls: C; className: string } {
  if (choice.kind === 'class') {
    if (choice.warning) warnings.push(choice.warning);
    return { cls: choice.cls, className: choice.name };
  }
  if (choice.kind === 'type') {
    const base = classes[defaultClass];
    // Every other field of a class is optional, so the instance type alone is a complete class.
    const cls = { instance_type: choice.instanceType, ...(base?.storage_type ? { storage_type: base.storage_type } : {}) } as C;
    return { cls, className: `auto:${choice.instanceType}` };
  }
  throw new Error(choice.message);
}

/**
 * Adoption of objects the Python operator managed (docs/migration.md #11): it ran the named class,
 * else the default class, and ignored cpu/memoryMB on AWS. While such an object's spec is
 * unchanged since (and `python_objects: keep`), that class is kept where this operator would size
 * differently, with a warning naming the switch.
 */
export function keptPythonClass<C extends { instance_type: string }>(
  req: ServerRequest,
  keep: boolean,
  classes: Record<string, C>,
  defaultClass: string,
  chosen: { cls: C; className: string },
  backendId: string,
  warnings: Array<{ reason: string; message: string }>,
): { cls: C; className: string } {
  if (!keep || !unchangedSincePythonOperator(req)) return chosen;
  const size = req.spec.size ?? {};
  const name = size.class && classes[size.class] ? size.class : defaultClass;
  const py = classes[name];
  if (!py || py.instance_type === chosen.cls.instance_type) return chosen;
  warnings.push({
    reason: 'AdoptedValueKept',
    message: `spec.size (cpu ${size.cpu ?? 'unset'}, memoryMB ${size.memoryMB ?? 'unset'}) selects ${chosen.cls.instance_type} in this operator; the Python operator ignored cpu/memoryMB and ran class '${name}' (${py.instance_type}), which is kept while the spec is unchanged. Set backends.${backendId}.python_objects: apply (or change the spec) to size by cpu/memoryMB. See docs/migration.md.`,
  });
  return { cls: py, className: name };
}
