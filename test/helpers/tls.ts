// A self-signed certificate and key for tests that serve HTTPS, made with the openssl CLI (CI
// installs it). Files go in the given directory, which the test owns and removes.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function selfSignedCert(dir: string, cn = 'localhost'): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}
