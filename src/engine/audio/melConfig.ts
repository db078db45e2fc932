/**
 * The ONE definition of the log-mel audio features used by the live app, the tools and training.
 * A model manifest embeds MEL_CONFIG verbatim (`manifest.mel`) and is rejected if it differs, so
 * any change here means models must be retrained.
 *
 * Input: mono float samples in [-1, 1] at `sampleRate` (16 kHz). For mel frame k (k = 0, 1, …):
 *
 *   x_k[n] = s[k·hop − winLength/2 + n] · w[n],  n = 0 … winLength−1   (s[i] = 0 for i < 0)
 *   w[n]   = 0.5 − 0.5·cos(2πn / winLength)                            (periodic Hann)
 *   X_k[b] = Σ_{n<winLength} x_k[n] · e^{−2πi·b·n/nFft},  b = 0 … nFft/2 (window zero-padded at the end to nFft)
 *   P_k[m] = Σ_b F[m][b] · |X_k[b]|²                                   (power spectrum through the mel filterbank)
 *   db     = 10·log10(max(P_k[m], powerFloor))
 *   v_k[m] = clamp(2·(db − dbFloor)/(dbCeil − dbFloor) − 1, −1, 1)
 *
 * F is librosa's `filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney')`:
 * Slaney mel scale  mel(f) = 3f/200 for f < 1000 Hz, else 15 + 27·ln(f/1000)/ln(6.4);
 * nMels + 2 points equally spaced in mel from fMin to fMax give edge frequencies h_0 … h_{nMels+1} (Hz);
 * filter m is the triangle rising from h_m to a peak of 1 at h_{m+1} and falling to 0 at h_{m+2},
 * evaluated at the FFT bin frequencies b·sampleRate/nFft, then scaled by 2/(h_{m+2} − h_m) (Slaney area norm).
 *
 * Timing: frame k is centred on sample k·hop, i.e. at time k·10 ms after sample 0, and can be
 * computed as soon as samples up to index k·hop + winLength/2 − 1 exist. Digital silence gives −1.
 * Offline, a clip of N samples has frames 0 … floor(N/hop) (librosa's center=True count) with the
 * samples after the end treated as zeros.
 */
import contract from '../contract.json' with { type: 'json' };

export const MEL_CONFIG = Object.freeze({
  /** Bump when the formula above changes in a way the fields below do not capture. */
  version: 'logmel-v1',
  sampleRate: 16000,
  winLength: 400,
  window: 'hann-periodic',
  nFft: 512,
  hopLength: 160,
  /** Frame k is centred on sample k·hop; samples before 0 are zeros. */
  center: 'k*hop',
  nMels: 80,
  fMin: 55,
  fMax: 7600,
  melScale: 'slaney',
  melNorm: 'slaney',
  /** Exponent of |X|: 2 = power spectrum. */
  power: 2,
  powerFloor: 1e-10,
  dbFloor: -80,
  dbCeil: 40,
});

export type MelConfig = typeof MEL_CONFIG;

/** Mel frames per second (sampleRate / hopLength). */
export const MEL_FRAME_RATE = 100;

/** Feature value of digital silence (db at or below dbFloor); from the contract the Python trainer reads too. */
export const SILENCE_VALUE: number = contract.audio.silence;
