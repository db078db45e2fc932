/**
 * Prints size and per-frame compute of a generator ONNX file.
 *   npx tsx tools/model-stats.ts path/to/generator.onnx [--json]
 */
import { readFileSync } from 'node:fs';
import { readOnnxModel, OnnxFormatError } from '../src/engine/generator/onnx.ts';
import { computeModelStats, ModelStatsError } from '../src/engine/generator/stats.ts';

function main(argv: string[]): number {
  const json = argv.includes('--json');
  const file = argv.find((a) => !a.startsWith('--'));
  if (!file) {
    console.error('usage: npx tsx tools/model-stats.ts FILE.onnx [--json]');
    return 2;
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    console.error(`Cannot read ${file}: ${(e as Error).message}`);
    return 1;
  }
  let stats: ReturnType<typeof computeModelStats>;
  let info: ReturnType<typeof readOnnxModel>;
  try {
    info = readOnnxModel(bytes);
    stats = computeModelStats(info);
  } catch (e) {
    if (e instanceof OnnxFormatError || e instanceof ModelStatsError) {
      console.error(`${file}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (json) {
    console.log(JSON.stringify({ file, bytes: bytes.length, opset: info.opset, ...stats }, null, 2));
    return 0;
  }
  const lines = [
    `file          ${file} (${(bytes.length / 1e6).toFixed(2)} MB, opset ${info.opset}, ir ${info.irVersion})`,
    `inputs        ${info.inputs.map((i) => `${i.name}[${i.dims?.join(',') ?? '?'}]`).join('  ')}`,
    `outputs       ${info.outputs.map((i) => `${i.name}[${i.dims?.join(',') ?? '?'}]`).join('  ')}`,
    `parameters    ${stats.parameters.toLocaleString('en-US')}`,
    `weights       ${(stats.weightBytes / 1e6).toFixed(2)} MB`,
    `MACs/frame    ${stats.macs.toLocaleString('en-US')}`,
    `GFLOPs/frame  ${stats.gflops.toFixed(3)}  (2·MACs, Conv/ConvTranspose/Gemm/MatMul)`,
    `ops           ${stats.ops.map((o) => `${o.opType}×${o.count}${o.webgpu ? '' : ' [NOT WEBGPU]'}`).join(', ')}`,
  ];
  if (stats.unsupportedOps.length) lines.push(`NOT on WebGPU ${stats.unsupportedOps.join(', ')}`);
  if (stats.uncounted.length) lines.push(`uncounted     ${stats.uncounted.join(', ')} (shapes could not be inferred)`);
  console.log(lines.join('\n'));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
