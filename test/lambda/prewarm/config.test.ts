import { loadConfig } from '../../../lambda/prewarm/config';

const fleets = JSON.stringify([{ fleet: 'small', asgName: 'a', servers: [{ port: 8000, kind: 'chat', model: 'm' }] }]);

describe('loadConfig', () => {
  it('applies the default timeout and concurrency', () => {
    const config = loadConfig({ FLEETS: fleets, METRICS_NAMESPACE: 'LlmTierRouter/dev' });
    expect(config).toMatchObject({ TIMEOUT_MS: 20000, CONCURRENCY: 16 });
    expect(config.FLEETS[0].servers[0].port).toBe(8000);
  });

  it('coerces numbers given as strings', () => {
    expect(loadConfig({ FLEETS: fleets, METRICS_NAMESPACE: 'n', TIMEOUT_MS: '5000' }).TIMEOUT_MS).toBe(5000);
  });

  it('reports every problem at once', () => {
    expect(() => loadConfig({ FLEETS: 'not json', TIMEOUT_MS: '-1' })).toThrow(
      /FLEETS: expected a JSON array of fleets.*METRICS_NAMESPACE.*TIMEOUT_MS/,
    );
  });

  it('rejects a server kind it cannot warm', () => {
    const bad = JSON.stringify([{ fleet: 'small', asgName: 'a', servers: [{ port: 8000, kind: 'rerank', model: 'm' }] }]);
    expect(() => loadConfig({ FLEETS: bad, METRICS_NAMESPACE: 'n' })).toThrow(/FLEETS\.0\.servers\.0\.kind/);
  });
});
