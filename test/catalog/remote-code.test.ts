import { COMMIT_SHA, MODEL_CATALOG, pinnedRevisions, WeightFormat } from '../../lib/catalog/models';

describe('models that run code from the hub', () => {
  const remote = Object.entries(MODEL_CATALOG).filter(([, m]) => m.remoteCode);

  test('the embedding model is one of them', () => {
    expect(remote.map(([name]) => name)).toContain('nomic-embed-text-v1.5');
  });

  test.each(remote)('%s: every build pinned to a 40-hex commit, and its code repository too', (_name, model) => {
    const pin = model.remoteCode!;
    for (const format of Object.keys(model.builds) as WeightFormat[]) {
      expect(pin.revisions[format]).toMatch(COMMIT_SHA);
    }
    expect(pin.codeRevision).toMatch(COMMIT_SHA);
    expect(pin.codeRepository).toMatch(/^[\w.-]+\/[\w.-]+$/);
    expect(model.extraArgs ?? []).not.toContain('--trust-remote-code');
  });

  test('a configured hub id other than the catalog build gets no pin from the catalog', () => {
    const nomic = MODEL_CATALOG['nomic-embed-text-v1.5'];
    expect(pinnedRevisions(nomic, { weightFormat: 'bf16' })).toEqual({
      revision: 'e9b6763023c676ca8431644204f50c2b100d9aab', codeRevision: '7710840340a098cfb869c4f65e87cf2b1b70caca',
    });
    expect(pinnedRevisions(nomic, { weightFormat: 'bf16', hubModelId: 'nomic-ai/nomic-embed-text-v1.5' }).revision).toBe('e9b6763023c676ca8431644204f50c2b100d9aab');
    expect(pinnedRevisions(nomic, { weightFormat: 'bf16', hubModelId: 'fork/nomic' })).toEqual({ revision: undefined, codeRevision: undefined });
    expect(pinnedRevisions(nomic, { weightFormat: 'bf16', revision: 'b'.repeat(40) }).revision).toBe('b'.repeat(40));
  });
});
