import { chunkFrame } from '../../proxy/src/dispatch/relay';

describe('chunkFrame', () => {
  test.each([1, 9, 15, 16, 255, 256, 4095, 4096, 70_000])('frames %i bytes as one chunked-body chunk', (n) => {
    const data = Buffer.alloc(n, 0x61);
    const framed = chunkFrame(data);
    const head = `${n.toString(16)}\r\n`;
    expect(framed.length).toBe(head.length + n + 2);
    expect(framed.subarray(0, head.length).toString('latin1')).toBe(head);
    expect(framed.subarray(head.length, head.length + n).equals(data)).toBe(true);
    expect(framed.subarray(framed.length - 2).toString('latin1')).toBe('\r\n');
  });
});
