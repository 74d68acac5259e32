import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * Just enough X.509 to run a kube-apiserver with client-certificate authentication: a CA, a serving
 * certificate for 127.0.0.1 and client certificates for any (user, groups) on demand. kube-apiserver
 * maps CN → user name and each O → group, so a test can get a credential for any identity
 * synchronously without restarting the server (static token files cannot be reloaded).
 * ECDSA P-256 keeps key generation in the sub-millisecond range.
 */

// --- minimal DER encoder ---------------------------------------------------------------------
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, body: Buffer): Buffer => tlv(0xa0 | n, body);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
function integer(b: Buffer): Buffer {
  return tlv(0x02, (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}
function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split('.').map(Number);
  const out = [a * 40 + b];
  for (const n of rest) {
    const groups: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}
function generalizedTime(d: Date): Buffer {
  return tlv(0x18, Buffer.from(d.toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z'), 'ascii'));
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function name(cn: string, orgs: string[] = []): Buffer {
  const rdn = (type: string, value: string): Buffer => set(seq(oid(type), utf8(value)));
  return seq(...orgs.map((o) => rdn(OID.organization, o)), rdn(OID.commonName, cn));
}
const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

// --- certificates ----------------------------------------------------------------------------
export interface KeyPair { certPem: string; keyPem: string }
export interface CertificateAuthority extends KeyPair { subject: string }

interface CertSpec {
  subject: Buffer;
  publicKey: KeyObject;
  issuer: Buffer;
  signer: KeyObject;
  ca: boolean;
  usages: string[];
  sans?: { dns?: string[]; ips?: string[] };
}

function buildCert(spec: CertSpec): string {
  const now = Date.now();
  const exts = [
    extension(OID.basicConstraints, true, spec.ca ? seq(bool(true)) : seq()),
    // digitalSignature (bit 0) for every ECDSA cert; keyCertSign (bit 5) for the CA.
    extension(OID.keyUsage, true, spec.ca ? tlv(0x03, Buffer.from([2, 0x84])) : tlv(0x03, Buffer.from([7, 0x80]))),
  ];
  if (spec.usages.length) exts.push(extension(OID.extKeyUsage, false, seq(...spec.usages.map(oid))));
  if (spec.sans) {
    const names = [
      ...(spec.sans.dns ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
      ...(spec.sans.ips ?? []).map((ip) => tlv(0x87, Buffer.from(ip.split('.').map(Number)))),
    ];
    exts.push(extension(OID.subjectAltName, false, seq(...names)));
  }
  const algorithm = seq(oid(OID.ecdsaWithSha256));
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    spec.issuer,
    // Backdated a little: the apiserver and the test process share a clock, but be tolerant.
    seq(generalizedTime(new Date(now - 60 * 60_000)), generalizedTime(new Date(now + 10 * 365 * 24 * 3600_000))),
    spec.subject,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, spec.signer);
  const der = seq(tbs, algorithm, bitString(signature));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function newKey(): { privateKey: KeyObject; publicKey: KeyObject; keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, publicKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export function createCA(commonName: string): CertificateAuthority {
  const key = newKey();
  const subject = name(commonName);
  const certPem = buildCert({ subject, issuer: subject, publicKey: key.publicKey, signer: key.privateKey, ca: true, usages: [] });
  return { certPem, keyPem: key.keyPem, subject: commonName };
}

function issue(ca: CertificateAuthority, subject: Buffer, usages: string[], sans?: CertSpec['sans']): KeyPair {
  const key = newKey();
  const signer = createPrivateKey(ca.keyPem);
  const certPem = buildCert({ subject, issuer: name(ca.subject), publicKey: key.publicKey, signer, ca: false, usages, ...(sans ? { sans } : {}) });
  return { certPem, keyPem: key.keyPem };
}

/** A client certificate: kube-apiserver reads CN as the user name and each O as a group. */
export function issueClientCert(ca: CertificateAuthority, user: string, groups: string[] = []): KeyPair {
  return issue(ca, name(user, groups), [OID.clientAuth]);
}

export function issueServingCert(ca: CertificateAuthority, sans: { dns: string[]; ips: string[] }): KeyPair {
  return issue(ca, name(sans.dns[0] ?? 'localhost'), [OID.serverAuth], sans);
}

/** Public half of a private key in PEM, e.g. for --service-account-key-file. */
export function publicKeyPem(keyPem: string): string {
  return createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString();
}
