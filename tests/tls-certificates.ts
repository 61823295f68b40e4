import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM files a test TLS Redis and its clients use, in a temp dir that `remove()` deletes. */
export interface TestCertificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed neither certificate. */
  otherCa: string;
  remove(): Promise<void>;
}

const openssl = (dir: string, ...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });

/** `openssl req` options for a fresh, unencrypted EC key (fast to generate) written to `<name>.key`. */
const newKey = (name: string) => ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", `${name}.key`];

/** A fresh key and a certificate signing request for it. */
const request = (dir: string, name: string, subject: string) => openssl(dir, "req", "-new", ...newKey(name), "-out", `${name}.csr`, "-subj", subject);

const selfSignedCa = (dir: string, name: string) => openssl(dir, "req", "-x509", ...newKey(name), "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${name}`);

/**
 * A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, all signed
 * by that CA, generated with openssl in a temp dir; plus an unrelated CA.
 */
export async function generateCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), "worksteal-tls-"));
  selfSignedCa(dir, "ca");
  selfSignedCa(dir, "other-ca");
  await writeFile(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await writeFile(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const name of ["server", "client"]) {
    request(dir, name, `/CN=worksteal-test-${name}`);
    openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "2",
      "-extfile",
      `${name}.ext`,
    );
  }
  const at = (file: string) => join(dir, file);
  return {
    dir,
    ca: at("ca.crt"),
    serverCert: at("server.crt"),
    serverKey: at("server.key"),
    clientCert: at("client.crt"),
    clientKey: at("client.key"),
    otherCa: at("other-ca.crt"),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
