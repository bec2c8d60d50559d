import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROXY_NODE_OPTIONS } from '../../proxy/bundle';

const dockerfile = readFileSync(path.join(__dirname, '..', '..', 'proxy', 'Dockerfile'), 'utf8');
const runtime = dockerfile.split(/^FROM /m).at(-1) ?? '';

describe('proxy image runtime environment', () => {
  test('sets NODE_OPTIONS to the value the benchmark runs the bundle with', () => {
    const lines = runtime.split('\n').filter((l) => l.startsWith('ENV NODE_OPTIONS='));
    expect(lines).toEqual([`ENV NODE_OPTIONS=${PROXY_NODE_OPTIONS}`]);
  });

  test('NODE_OPTIONS holds only options Node accepts there', () => {
    for (const opt of PROXY_NODE_OPTIONS.split(' ')) expect(opt).toMatch(/^--(max-old-space-size|max-semi-space-size)=\d+$/);
  });
});
