/**
 * Markdown tables comparing `npm run eval --json` reports of several models on the same clips (model card, notes).
 *
 *   npx tsx tools/eval-compare.ts NAME=report.json NAME2=report2.json ...
 *
 * Per clip: LMD (and copy-reference), sharpness ratio, PSNR; overall: every headline metric and the issue #10 bar.
 */
import { readFileSync } from 'node:fs';
import type { ClipResult, EvalReport } from './eval.ts';

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const args = process.argv.slice(2).map((a) => {
  const i = a.indexOf('=');
  if (i < 1) {
    console.error(`"${a}" is not NAME=report.json (e.g. 0.3.0=runs/eval/v030.json).`);
    process.exit(2);
  }
  return { name: a.slice(0, i), report: JSON.parse(readFileSync(a.slice(i + 1), 'utf8')) as EvalReport };
});
if (!args.length) {
  console.error('usage: npx tsx tools/eval-compare.ts NAME=report.json [NAME2=report2.json …]');
  process.exit(2);
}
const ids = args[0].report.clips.map((c) => c.id);
const clip = (r: EvalReport, id: string) => r.clips.find((c) => c.id === id);
console.log(
  `| clip | ${args.map((a) => `LMD ${a.name}`).join(' | ')} | LMD copy | ${args.map((a) => `sharp ${a.name}`).join(' | ')} | ${args.map((a) => `PSNR ${a.name}`).join(' | ')} | PSNR copy |`,
);
console.log(`|${'---|'.repeat(1 + args.length * 3 + 2)}`);
for (const id of ids) {
  const cs = args.map((a) => clip(a.report, id));
  const copy = cs[0]!;
  console.log(
    `| ${id} | ${cs.map((c) => f(c?.lmd.model ?? NaN)).join(' | ')} | ${f(copy.lmd.copyReference)} | ${cs.map((c) => f(c?.sharpness?.model ?? NaN, 2)).join(' | ')} | ${cs
      .map((c) => f(c?.psnr.model ?? NaN, 1))
      .join(' | ')} | ${f(copy.psnr.copyReference, 1)} |`,
  );
}
const mean = (xs: number[]) => xs.filter(Number.isFinite).reduce((s, x, _, a) => s + x / a.length, 0);
const summary = (r: EvalReport) => {
  const c = r.clips;
  const lmd = mean(c.map((x) => x.lmd.model));
  const copy = mean(c.map((x) => x.lmd.copyReference));
  const o = r.overall as unknown as ClipResult;
  return {
    'LMD (÷ copy-reference)': `${f(lmd)} (${f(lmd / copy, 2)})`,
    'clips below copy-reference': `${c.filter((x) => x.lmd.model < x.lmd.copyReference).length} of ${c.length}`,
    'sharpness ratio (far ref / live)': `${f(o.sharpness?.model ?? NaN, 2)} / ${f(o.sharpness?.live ?? NaN, 2)}`,
    'sharpness of the mouth alone (copy-reference)': `${f(o.sharpness?.mouth ?? NaN, 2)} (${f(o.sharpness?.mouthCopy ?? NaN, 2)})`,
    'swapped-audio best lag: mean, largest lag': `${f(mean(c.map((x) => x.sync.model.lag)), 1)}, ${Math.max(...c.map((x) => Math.abs(x.sync.model.lag)))}`,
    'r at lag 0 / at best lag': `${f(o.sync.model.r0, 2)} / ${f(o.sync.model.r, 2)}`,
    'silent ÷ speech opening': `${f(o.silence.silentOpening)} / ${f(o.silence.speechOpening)} = ${f((100 * o.silence.silentOpening) / o.silence.speechOpening, 0)} %`,
    'jitter ×100 (÷ ground truth)': `${f(o.jitter.model * 100, 2)} (${f(o.jitter.model / o.jitter.groundTruth, 2)})`,
    'PSNR / SSIM (copy-reference)': `${f(o.psnr.model, 1)} / ${f(o.ssim.model)} (${f(o.psnr.copyReference, 1)} / ${f(o.ssim.copyReference)})`,
  };
};
const rows = args.map((a) => summary(a.report));
console.log(`\n| overall | ${args.map((a) => a.name).join(' | ')} |`);
console.log(`|${'---|'.repeat(1 + args.length)}`);
for (const k of Object.keys(rows[0])) console.log(`| ${k} | ${rows.map((r) => r[k as keyof typeof r]).join(' | ')} |`);
