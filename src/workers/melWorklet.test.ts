/**
 * Runs the real worklet module in Node with the few AudioWorkletGlobalScope globals it uses
 * (sampleRate, currentFrame, registerProcessor, AudioWorkletProcessor with a real MessagePort),
 * feeding real speech in 128-sample render quanta.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeLogMel } from '../engine/audio/mel.ts';
import {
  MEL_FRAMES_PER_MESSAGE,
  PCM_CHUNK,
  type HealthMessage,
  type MelBlockMessage,
  type MelWorkletMessage,
  type PcmChunkMessage,
  type ToMelWorklet,
} from '../engine/audio/messages.ts';
import { resampleBuffer } from '../engine/audio/resample.ts';
import { readWav } from '../engine/audio/wav.ts';

const RATE = 48000;
const START_FRAME = 4800; // the context has been running 0.1 s when the worklet starts
type Processor = { process(inputs: Float32Array[][], outputs: Float32Array[][], params: Record<string, Float32Array>): boolean };
type ProcessorCtor = new () => Processor;

const g = globalThis as Record<string, unknown>;
let ctor: ProcessorCtor;
const channels: MessageChannel[] = [];
let frame = START_FRAME;

beforeAll(async () => {
  g.sampleRate = RATE;
  Object.defineProperty(g, 'currentFrame', { get: () => frame, configurable: true });
  g.AudioWorkletProcessor = class {
    readonly port: MessagePort;
    constructor() {
      const ch = new MessageChannel();
      channels.push(ch);
      this.port = ch.port1;
    }
  };
  g.registerProcessor = (name: string, c: ProcessorCtor) => {
    expect(name).toBe('lipsync-mel');
    ctor = c;
  };
  await import('./melWorklet.ts');
});

afterAll(() => {
  for (const ch of channels) {
    ch.port1.close();
    ch.port2.close();
  }
  for (const k of ['sampleRate', 'currentFrame', 'AudioWorkletProcessor', 'registerProcessor']) delete g[k];
});

/** Creates a processor and collects what it posts on its node port. */
function start(): { proc: Processor; node: MessagePort; received: MelWorkletMessage[] } {
  const proc = new ctor();
  const node = channels[channels.length - 1].port2;
  const received: MelWorkletMessage[] = [];
  node.onmessage = (e: MessageEvent<MelWorkletMessage>) => received.push(e.data);
  return { proc, node, received };
}

function run(proc: Processor, inputs: (from: number, to: number) => Float32Array[], samples: number): void {
  for (let at = 0; at + 128 <= samples; at += 128) {
    proc.process([inputs(at, at + 128)], [[new Float32Array(128)]], {});
    frame += 128;
  }
}

const settle = () => new Promise((r) => setTimeout(r, 20));
const speech48k = resampleBuffer(readWav(readFileSync(new URL('../../../shared/data/clips/lrs2_00001/audio.wav', import.meta.url))).mono, 16000, RATE);

describe("AudioWorklet 'lipsync-mel'", () => {
  it('posts mel blocks equal to the offline features, anchored to the context time', async () => {
    const K = MEL_FRAMES_PER_MESSAGE;
    frame = START_FRAME;
    const { proc, received } = start();
    const n = 48000 * 2; // 2 s
    run(proc, (a, b) => [speech48k.slice(a, b)], n);
    await settle();
    const mel = received.filter((m): m is MelBlockMessage => m.type === 'mel');
    expect(mel.length * K).toBeGreaterThan(180);
    mel.forEach((m, i) => {
      expect(m.firstIndex).toBe(i * K);
      expect(m.frames.length).toBe(K * 80);
      expect(m.startContextTime).toBe(START_FRAME / RATE);
    });
    const streamed = new Float32Array(mel.length * K * 80);
    mel.forEach((m, i) => streamed.set(m.frames, i * K * 80));
    const offline = computeLogMel(resampleBuffer(speech48k.subarray(0, n), RATE));
    expect(streamed).toEqual(offline.subarray(0, streamed.length));
    // latency: every frame whose samples (plus the resampler's look-ahead) arrived has been posted
    expect(mel.length * K).toBeGreaterThanOrEqual(196);

    const levels = received.filter((m) => m.type === 'level');
    expect(levels.length).toBe(Math.floor(n / 2400)); // every 50 ms
    for (const l of levels) {
      expect(l.peak).toBeGreaterThanOrEqual(l.rms);
      expect(l.peak).toBeLessThanOrEqual(1);
    }
    expect(Math.max(...levels.map((l) => l.rms))).toBeGreaterThan(0.02);
  });

  it('downmixes channels (antiphase stereo cancels to silence)', async () => {
    const { proc, received } = start();
    run(proc, (a, b) => [speech48k.slice(a, b), speech48k.slice(a, b).map((v) => -v)], 48000);
    await settle();
    const mel = received.filter((m): m is MelBlockMessage => m.type === 'mel');
    expect(mel.length).toBeGreaterThan(20);
    for (const m of mel) expect(m.frames.every((v) => v === -1)).toBe(true);
  });

  it('keeps frame k at startContextTime + k/100 when the context skips render quanta (the gap counts as silence)', async () => {
    frame = START_FRAME;
    const { proc, received } = start();
    const before = 48000; // 1 s, then the audio thread misses 14 quanta (as Chromium's does at start), then 1 s
    const skipped = 14 * 128;
    run(proc, (a, b) => [speech48k.slice(a, b)], before);
    frame += skipped;
    run(proc, (a, b) => [speech48k.slice(before + a, before + b)], 48000);
    await settle();
    const mel = received.filter((m): m is MelBlockMessage => m.type === 'mel');
    const streamed = new Float32Array(mel.length * MEL_FRAMES_PER_MESSAGE * 80);
    mel.forEach((m, i) => streamed.set(m.frames, i * MEL_FRAMES_PER_MESSAGE * 80));
    // What the context clock says happened: 1 s of speech, the skipped span, 1 s of speech.
    const timeline = new Float32Array(before + skipped + 48000);
    timeline.set(speech48k.subarray(0, before));
    timeline.set(speech48k.subarray(before, before + 48000), before + skipped);
    const offline = computeLogMel(resampleBuffer(timeline, RATE));
    expect(mel.every((m) => m.startContextTime === START_FRAME / RATE)).toBe(true);
    expect(streamed.length / 80).toBeGreaterThan(200);
    expect(streamed).toEqual(offline.subarray(0, streamed.length));
  });

  it('restarts numbering and the time anchor on reset, and sends mel to a connected port', async () => {
    const { proc, node, received } = start();
    run(proc, (a, b) => [speech48k.slice(a, b)], 9600);
    const worker = new MessageChannel();
    channels.push(worker);
    const toWorker: MelWorkletMessage[] = [];
    worker.port2.onmessage = (e: MessageEvent<MelWorkletMessage>) => toWorker.push(e.data);
    node.postMessage({ type: 'connect', port: worker.port1 } satisfies ToMelWorklet, [worker.port1]);
    node.postMessage({ type: 'reset' } satisfies ToMelWorklet);
    await settle();
    const resetAt = frame;
    run(proc, () => [], 48000); // no input connected: time still advances as silence
    await settle();
    const before = received.filter((m): m is MelBlockMessage => m.type === 'mel');
    const after = toWorker.filter((m): m is MelBlockMessage => m.type === 'mel');
    expect(before.length).toBeGreaterThan(0);
    expect(toWorker.some((m) => m.type === 'level')).toBe(false); // levels stay on the node port
    expect(after[0].firstIndex).toBe(0);
    expect(after[0].startContextTime).toBe(resetAt / RATE);
    expect(after.length).toBeGreaterThan(20);
    after.forEach((m, i) => expect(m.firstIndex).toBe(MEL_FRAMES_PER_MESSAGE * i));
    for (const m of after) expect(m.frames.every((v) => v === -1)).toBe(true);
  });

  it("while tapped, sends the mono audio itself to the mel port, each chunk stamped with its first sample's context time", async () => {
    const { proc, node } = start();
    const worker = new MessageChannel();
    channels.push(worker);
    const toWorker: MelWorkletMessage[] = [];
    worker.port2.onmessage = (e: MessageEvent<MelWorkletMessage>) => toWorker.push(e.data);
    node.postMessage({ type: 'connect', port: worker.port1 } satisfies ToMelWorklet, [worker.port1]);
    run(proc, (a, b) => [speech48k.slice(a, b)], 4096); // not tapped yet: no audio sent
    node.postMessage({ type: 'tap', on: true } satisfies ToMelWorklet);
    await settle();
    const tapFrom = frame;
    const offset = 4096;
    run(proc, (a, b) => [speech48k.slice(offset + a, offset + b), speech48k.slice(offset + a, offset + b)], 48000); // stereo: downmixed
    node.postMessage({ type: 'tap', on: false } satisfies ToMelWorklet);
    await settle();
    run(proc, (a, b) => [speech48k.slice(a, b)], 9600);
    await settle();
    const pcm = toWorker.filter((m): m is PcmChunkMessage => m.type === 'pcm');
    expect(pcm.length).toBe(Math.floor(48000 / PCM_CHUNK));
    pcm.forEach((m, i) => {
      expect(m.sampleRate).toBe(RATE);
      expect(m.startContextTime).toBeCloseTo((tapFrom + i * PCM_CHUNK) / RATE, 9);
      const at = offset + i * PCM_CHUNK;
      expect(Array.from(m.samples.subarray(0, 5))).toEqual(Array.from(speech48k.subarray(at, at + 5)));
    });
  });

  it('reports input health on its node port from the audio clock: silence after 3 s, sound again, nothing connected', async () => {
    const { proc, received } = start();
    run(proc, (a, b) => [speech48k.slice(a, b)], 48000); // 1 s of speech
    const silenceFrom = frame;
    run(proc, () => [new Float32Array(128)], 48000 * 4); // 4 s of digital silence (a muted mic)
    run(proc, (a, b) => [speech48k.slice(48000 + a, 48000 + b)], 4800); // speech again
    const unplugged = frame;
    run(proc, () => [], 48000 * 4); // the input disconnected: no channels
    await settle();
    const health = received.filter((m): m is HealthMessage => m.type === 'health');
    const inSpeech = health.filter((h) => h.audioTime * RATE <= silenceFrom);
    expect(inSpeech.length).toBeGreaterThanOrEqual(3);
    expect(inSpeech.every((h) => h.state === 'ok' && h.peak > 0)).toBe(true);
    const firstSilent = health.find((h) => h.state === 'silent')!;
    expect(firstSilent.audioTime - silenceFrom / RATE).toBeGreaterThanOrEqual(3 - 1e-9);
    expect(firstSilent.audioTime - silenceFrom / RATE).toBeLessThan(3.01);
    const back = health.find((h) => h.state === 'ok' && h.audioTime * RATE > silenceFrom + 48000 * 3);
    expect(back, 'cleared when sound returns').toBeDefined();
    expect(back!.audioTime * RATE).toBeLessThanOrEqual(silenceFrom + 48000 * 4 + 128);
    const last = health.at(-1)!;
    expect(last.state).toBe('no-input');
    expect(frame / RATE - last.audioTime).toBeLessThan(0.25); // reports keep coming with nothing connected
    expect(health.filter((h) => h.audioTime * RATE > unplugged).some((h) => h.state === 'silent')).toBe(false);
  });
});
