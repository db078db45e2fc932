import { describe, expect, it, vi } from 'vitest';
import { readModelFile } from './modelFile.ts';

describe('readModelFile', () => {
  it('refuses a file over the limit from its size alone, before reading a byte', async () => {
    const file = new File([new Uint8Array(4096)], 'huge.onnx');
    const read = vi.spyOn(file, 'arrayBuffer');
    await expect(readModelFile(file, file.name, 1024)).rejects.toThrow(/huge\.onnx is 4\.0 kB, over the 1\.0 kB limit/);
    expect(read).not.toHaveBeenCalled();
  });

  it('reads a file within the limit, and names an empty one', async () => {
    const file = new File([new Uint8Array([1, 2, 3])], 'ok.onnx');
    expect(new Uint8Array(await readModelFile(file, file.name, 1024))).toEqual(new Uint8Array([1, 2, 3]));
    await expect(readModelFile(new File([], 'empty.onnx'))).rejects.toThrow(/empty\.onnx is empty/);
  });
});
