// The test OP harness itself: a device login through openid-client yields a JWT access token
// for the hub's audience, an ID token for the CLI, and a refresh token that works.
import * as client from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcTestProvider } from '../helpers/oidc-provider.js';

describe('test OIDC provider harness', () => {
  let op: OidcTestProvider;
  beforeAll(async () => {
    op = await startOidcProvider({ accessTokenTtlSec: 60 });
  });
  afterAll(async () => {
    await op.close();
  });

  it('runs the device flow end to end through openid-client', async () => {
    const config = await client.discovery(
      new URL(op.issuer),
      op.clientId,
      undefined,
      client.None(),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const device = await client.initiateDeviceAuthorization(config, {
      scope: `openid offline_access ${op.resourceScope}`,
      resource: op.audience,
    });
    await op.approveDeviceCode(device.user_code, 'alice');
    const tokens = await client.pollDeviceAuthorizationGrant(config, { ...device, interval: 0.01 });
    const at = decodeJwt(tokens.access_token);
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    expect(at).toMatchObject({
      iss: op.issuer,
      aud: op.audience,
      sub: 'alice',
      client_id: op.clientId,
    });
    expect(tokens.id_token).toBeDefined();
    expect(decodeJwt(tokens.id_token!)).toMatchObject({ aud: op.clientId, sub: 'alice' });
    expect(tokens.refresh_token).toBeDefined();
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ aud: op.audience, sub: 'alice' });
  });
});
