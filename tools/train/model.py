"""Default lip-sync generator: a lean audio-conditioned U-Net that only generates the masked lower half.

Contract (see src/engine/generator/manifest.ts):
  masked    [1,3,S,S]  aligned crop, rows >= S*(1-maskRatio) set to maskFill, range [0,1]
  reference [1,3,S,S]  unmasked crop of the same person (current frame at inference)
  audio     [1,80,T]   log-mel window, T = past + lookahead, silence = -1
  face      [1,3,S,S]  upper part copied from `masked` inside the graph, lower part generated

Architecture (S=128, default widths 32/64/128/192, audio window T=16):
  image encoder over concat(masked, reference) (6 ch): four stride-2 stages 128->64->32->16->8,
    each Conv3x3 s2 + Conv3x3 (ReLU), skip features kept at 64/32/16/8. Each stage computes only the rows
    that reach an output (`encoder_rows`: from row 19 of the image down), the same values as the full maps.
  audio encoder: [B,80,T] -> Unsqueeze [B,80,1,T] -> Conv(1x3) stack with time stride 2 ->
    Reshape -> Gemm -> 128-d audio code. Kept positional (no pooling) so the centre matters.
  decoder on the LOWER rows only: Slice the bottleneck and every skip to the lower half, then
    x2 up + Conv3x3 over the skip at 4x8 -> 8x16 -> 16x32 -> 32x64 -> 64x128 (`upsample`: nearest Resize +
    Concat + one Conv3x3, or the same function as ConvTranspose4x4/2 + Conv3x3(skip) + Add),
    FiLM (x * (1 + gamma) + beta, gamma/beta = Gemm(audio code)) after the first conv of every stage.
    The last stage also sees the reference's lower half at full resolution (raw, plus `ref_features`
    learned full-resolution channels of it). Output head: see `output`
    (default "residual": a bounded residual over the reference's lower half).
  output = Concat(masked upper rows, generated lower rows) along H.

ONNX ops: Conv, Relu, Resize(nearest) or ConvTranspose, Concat, Slice, Gemm, Reshape, Unsqueeze, Mul, Add, Sigmoid
(+ Tanh and Sub for output="residual"). No normalisation layers, so nothing to fold.
Run `python3 model.py` for param count / FLOPs of the default config.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GeneratorConfig:
    size: int = 128
    mel_bins: int = 80
    past: int = 8
    lookahead: int = 8
    mask_ratio: float = 0.5
    widths: tuple = (32, 64, 128, 192)
    audio_channels: tuple = (64, 96, 128)
    audio_dim: int = 128
    # How the lower rows are produced: "direct" = sigmoid(pixels); "residual" = bounded residual over the
    # reference's lower half: t = tanh(delta), out = ref + relu(t)*(1-ref) - relu(-t)*ref, which stays in [0,1]
    # without a Clip op and starts as a copy of the reference. Measured on synthetic data (1000 steps, unseen
    # identity): an unbounded residual reached mouth L1 0.069 vs 0.094 for "direct"; a sigmoid-gated blend
    # (ref + a*(gen-ref)) collapsed to a = 0 (pure copy), so it was dropped.
    # "warp": the residual is taken over the reference's lower half *warped* by a predicted flow (bilinear
    # GridSample, border padding), so the reference's own texture (teeth, beard, lip colour) can be moved into the
    # new mouth shape instead of re-painted; the residual then refines it. Two more head channels carry the flow
    # (tanh-bounded to WARP_RANGE of the crop's half-width); a zero flow is the identity warp, so a "residual"
    # model converts exactly (`grow_head_for_warp`).
    output: str = "residual"
    # Channels of a full-resolution feature path over the reference's lower half (0 = none, as up to 0.3.0):
    # two 3x3 convs at 64x128 whose features join the raw reference as the last decoder stage's skip, so
    # the network can carry the reference's own texture (teeth, beard, lip colour) into the new mouth
    # instead of re-painting it through the 2x-downsampled encoder.
    ref_features: int = 0
    # How the decoder doubles resolution: "nearest" = Resize(nearest) x2, then the 3x3 conv over
    # concat(upsampled, skip) (up to 0.3.0); "transposed" = the upsampled part as one ConvTranspose 4x4
    # stride 2 (+ a 3x3 conv over the skip alone). Nearest-then-3x3 is exactly a transposed conv whose 4x4
    # kernel sums the 3x3 taps each output phase sees (`nearest_to_transposed`), so old weights convert
    # without loss, at 16 instead of 36 multiply-adds per input channel and output pixel quad (measured on
    # onnxruntime-web's wasm EP: the largest stage ~2x faster).
    upsample: str = "nearest"
    # The person's own articulation as a fourth input, `articulation` [1,2]: the median and 90th percentile of
    # their inner-lip gap (fraction of the crop, data.mouth_opening's measure) over frames of the same clip more
    # than minOffset from the target (at inference: the camera's recent frames). Empty = no such input (up to
    # 0.4.0-rc1). The value is this dataset's typical (p50, p90), fed when the person's range is not known yet;
    # the input enters as (a - prior) * ARTICULATION_SCALE through a zero-initialised Gemm added to the audio code
    # before its ReLU, so a model without it converts exactly. Why: with 63 people, audio alone does not tell how far
    # a new person opens (held-out opening error 0.0224 vs 0.0232 for a constant; the person's mean alone 0.0180).
    articulation: tuple = ()
    # An inference-time control of how far the mouth opens, `openingGain` [1,1] (src/engine/face/openingGain.ts): the
    # audio code is moved towards the code of silence, code' = s + g (code - s), where s is the code the network gives
    # an all-silent window. g = 1 is the trained network exactly (training always feeds 1 or leaves it out); g < 1
    # opens less while the timing stays the audio's. Why: a network trained on 49 faces opens a new person's mouth as
    # a typical speaker's, 2-4x too wide on quiet speakers (model card), and one reference frame cannot tell it how far
    # this person opens; the app can measure that on the camera and close the loop. Scaling the mel towards silence
    # does not work (the generator was trained with +-10 dB gain augmentation; sync collapses first).
    opening_gain: bool = False

    @property
    def audio_frames(self) -> int:
        return self.past + self.lookahead

    @property
    def lower_start(self) -> int:
        """First generated row: rows >= S*(1-maskRatio) are masked."""
        return int(round(self.size * (1.0 - self.mask_ratio)))

    def to_json(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_json(d: dict) -> "GeneratorConfig":
        d = dict(d)
        if "residual" in d:  # checkpoints from before `output` existed
            d["output"] = "residual" if d.pop("residual") else "direct"
        for k in ("widths", "audio_channels", "articulation"):
            if k in d:
                d[k] = tuple(d[k])
        return GeneratorConfig(**d)


# (a - prior) * ARTICULATION_SCALE: openings differ between people by ~0.02 of the crop, so this is ~unit range.
ARTICULATION_SCALE = 50.0
ARTICULATION_INPUT = "articulation"
OPENING_GAIN_INPUT = "openingGain"

# Largest flow of the warp output, in normalised coordinates (2 = the crop's width): 0.25 = 16 px at 128 px.
WARP_RANGE = 0.25


def lower_grid(size: int, y0: int) -> torch.Tensor:
    """[1, size - y0, size, 2] (x, y) of the lower rows' pixel centres in grid_sample's normalised coordinates
    (align_corners=False): sampling the full crop there returns its lower half exactly."""
    ys = (2 * torch.arange(y0, size, dtype=torch.float32) + 1) / size - 1
    xs = (2 * torch.arange(size, dtype=torch.float32) + 1) / size - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], -1).unsqueeze(0)


def grow_head_for_warp(weight: torch.Tensor, bias: torch.Tensor) -> tuple:
    """A residual head [3, C, k, k] as a warp head [5, ...]: the flow channels start at zero (identity warp)."""
    w = torch.cat([weight, torch.zeros((2,) + tuple(weight.shape[1:]), dtype=weight.dtype)], 0)
    return w, torch.cat([bias, torch.zeros(2, dtype=bias.dtype)], 0)


def conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


class AudioEncoder(nn.Module):
    """Log-mel window -> audio code. 1-D convs over time, written as 2-D convs with (1,k) kernels."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        layers = []
        cin = cfg.mel_bins
        t = cfg.audio_frames
        for i, c in enumerate(cfg.audio_channels):
            stride = 1 if i == 0 else 2
            layers += [nn.Conv2d(cin, c, (1, 3), stride=(1, stride), padding=(0, 1)), nn.ReLU(inplace=True)]
            t = (t + 2 - 3) // stride + 1
            cin = c
        self.convs = nn.Sequential(*layers)
        self.flat = cin * t
        self.fc = nn.Linear(self.flat, cfg.audio_dim)
        self.articulation = None
        if cfg.articulation:
            if len(cfg.articulation) != 2:
                raise ValueError(f"articulation prior must be (p50, p90), got {cfg.articulation!r}")
            self.articulation = nn.Linear(2, cfg.audio_dim)
            nn.init.zeros_(self.articulation.weight)
            nn.init.zeros_(self.articulation.bias)
            self.register_buffer("articulation_prior", torch.tensor([list(cfg.articulation)], dtype=torch.float32),
                                 persistent=False)

    def forward(self, audio: torch.Tensor, articulation: torch.Tensor | None = None) -> torch.Tensor:
        x = self.convs(audio.unsqueeze(2))
        x = x.reshape(x.shape[0], self.flat)
        h = self.fc(x)
        if self.articulation is not None:
            a = self.articulation_prior if articulation is None else articulation
            h = h + self.articulation((a - self.articulation_prior) * ARTICULATION_SCALE)
        return F.relu(h)


class FiLM(nn.Module):
    """Per-channel scale/shift from the audio code (two Gemms so no Split op is needed)."""

    def __init__(self, audio_dim: int, channels: int):
        super().__init__()
        self.channels = channels
        self.gamma = nn.Linear(audio_dim, channels)
        self.beta = nn.Linear(audio_dim, channels)
        # Start as identity so the image path trains from a sane point.
        for lin in (self.gamma, self.beta):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        g = self.gamma(code).reshape(b, self.channels, 1, 1)
        s = self.beta(code).reshape(b, self.channels, 1, 1)
        return x * (g + 1.0) + s


class EncoderStage(nn.Module):
    """Conv3x3/2 + Conv3x3 (ReLU). With `rows` (see `encoder_rows`) it computes only the rows from `rows.out`
    down, from an input that starts at row `rows.inp`: the rows above feed no output, and the convs read real rows
    there instead of padding (their top padding is 0), so what they compute is exactly the full map's rows."""

    def __init__(self, cin: int, cout: int, rows: "StageRows | None" = None):
        super().__init__()
        self.rows = rows or StageRows(0, 0, 0)
        self.down = conv(cin, cout, 2)
        self.conv = conv(cout, cout)
        if self.rows.mid > 0:  # input starts at 2*mid - 1: the stride-2 taps land on it without top padding
            self.down.padding = (0, 1)
        if self.rows.out > 0:  # the bottom zero row is appended in forward (Conv pads are symmetric per axis)
            self.conv.padding = (0, 1)

    def forward(self, x):
        y = F.relu(self.down(x))
        if self.rows.out > 0:
            # y * 0 rather than a constant: the zero row then has the batch size of any input.
            y = torch.cat([y, y[:, :, -1:] * 0.0], 2)
        return F.relu(self.conv(y))


@dataclass(frozen=True)
class StageRows:
    """First rows of an encoder stage, in its own resolution: `inp` of its input, `mid` of the stride-2 conv's
    output, `out` of its output."""
    inp: int
    mid: int
    out: int


def encoder_rows(size: int, lower_start: int, stages: int = 4) -> list[StageRows]:
    """Which rows each encoder stage must compute. Only the lower rows of every scale are used (as decoder skips,
    and the last stage as the bottleneck), and a 3x3 conv's output row r needs input rows r-1..r+1 (a stride-2
    one's: 2r-1..2r+1); going back from the bottleneck, the rows above those needed are never used. At 128 px
    with half the face masked: from rows 19, 11, 7 and 5 of the inputs of the 4 stages (of 128, 64, 32, 16)."""
    need = lower_start // 2 ** stages
    out: list[StageRows] = []
    for i in reversed(range(stages)):
        o = min(lower_start // 2 ** (i + 1), need)  # this stage's output: its own skip rows, and what the next needs
        m = max(o - 1, 0)
        inp = max(2 * m - 1, 0)  # m == 0: the stride-2 conv keeps its top padding
        out.append(StageRows(inp, m, o))
        need = inp
    return out[::-1]


class DecoderStage(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int, audio_dim: int, upsample: str = "nearest"):
        super().__init__()
        if upsample not in ("nearest", "transposed"):
            raise ValueError(f"upsample must be nearest or transposed, got {upsample!r}")
        self.upsample = upsample
        # transposed: `up` carries what conv1 did to the upsampled channels, conv1 (and its bias) the skip's.
        self.up = TransposedUp(cin, cout, 4, stride=2, padding=1, bias=False) if upsample == "transposed" else None
        self.conv1 = conv(cskip if self.up is not None else cin + cskip, cout)
        self.film = FiLM(audio_dim, cout)
        self.conv2 = conv(cout, cout)

    def forward(self, x, skip, code):
        if self.up is not None:
            x = self.up(x) + self.conv1(skip)
        else:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = self.conv1(torch.cat([x, skip], 1))
        x = F.relu(self.film(x, code))
        return F.relu(self.conv2(x))


# Rows (or columns) r of a 3x3 kernel that tap k of the equivalent 4x4 stride-2 transposed kernel sums, when the
# 3x3 conv (padding 1) runs after a nearest x2 upsample: output row Y sees input row i through high-res rows
# {2i, 2i+1}, and k = Y + 1 - 2i.
_TAPS = ((2,), (1, 2), (0, 1), (0,))


# Sub-pixel form of ConvTranspose2d(4, stride 2, padding 1): output row 2j+p reads input rows j+d, d in {-1, 0, 1},
# through kernel tap _PHASE_TAP[p][d + 1] (-1 = none): even rows (p=0) taps 3 and 1 of rows j-1 and j, odd rows taps 2
# and 0 of rows j and j+1 (Y = 2i - 1 + k). As a 3x3 conv with 4*cout outputs followed by pixel_shuffle it runs on
# PyTorch's fast conv kernels: its CPU ConvTranspose2d trains ~2x slower than the whole nearest-upsample network.
_PHASE_TAP = ((3, 1, -1), (-1, 2, 0))
_PHASE_SELECT = torch.zeros(2, 3, 4)
for _p, _taps in enumerate(_PHASE_TAP):
    for _d, _k in enumerate(_taps):
        if _k >= 0:
            _PHASE_SELECT[_p, _d, _k] = 1.0


def transposed_up(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """ConvTranspose2d(x, w [cin, cout, 4, 4], stride 2, padding 1, no bias). Exported as ConvTranspose; in PyTorch it
    runs as a 3x3 conv to the 4 output phases + pixel_shuffle, which computes the same sums."""
    if torch.onnx.is_in_onnx_export():
        return F.conv_transpose2d(x, w, stride=2, padding=1)
    cin, cout = w.shape[0], w.shape[1]
    k = torch.einsum("yak,xbl,cokl->oyxcab", _PHASE_SELECT, _PHASE_SELECT, w).reshape(cout * 4, cin, 3, 3)
    return F.pixel_shuffle(F.conv2d(x, k, padding=1), 2)


class TransposedUp(nn.ConvTranspose2d):
    """ConvTranspose2d(4, stride 2, padding 1) computed by `transposed_up` (same sums, PyTorch's fast conv kernels)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return transposed_up(x, self.weight)


def nearest_to_transposed(w3: torch.Tensor) -> torch.Tensor:
    """3x3 conv weight [cout, cin, 3, 3] applied after nearest x2 -> ConvTranspose2d(4, stride 2, padding 1)
    weight [cin, cout, 4, 4] computing exactly the same (zero padding at the borders included)."""
    rows = torch.stack([w3[:, :, list(r), :].sum(2) for r in _TAPS], 2)  # [cout, cin, 4, 3]
    k = torch.stack([rows[:, :, :, list(c)].sum(3) for c in _TAPS], 3)  # [cout, cin, 4, 4]
    return k.transpose(0, 1).contiguous()


def with_upsample(cfg: "GeneratorConfig", upsample: str | None, source: str) -> "GeneratorConfig":
    """`cfg` (read from `source`) with the decoder upsampling asked for. nearest -> transposed converts exactly
    (`convert_upsample_state`); transposed -> nearest has no exact form, so it is refused, with a message."""
    if upsample is None or upsample == cfg.upsample:
        return cfg
    if upsample != "transposed":
        raise ValueError(f"--upsample {upsample}: {source} uses transposed convs, which have no nearest-upsample form")
    return GeneratorConfig(**{**cfg.to_json(), "upsample": upsample})


def convert_upsample_state(sd: dict, cfg: "GeneratorConfig") -> dict:
    """A state dict of the "nearest" decoder -> the same function in the "transposed" decoder."""
    out = dict(sd)
    w = cfg.widths
    cins = (w[3], w[2], w[1], w[0])
    for i, cin in enumerate(cins):
        k = f"dec.{i}.conv1.weight"
        w3 = sd[k]
        out[f"dec.{i}.up.weight"] = nearest_to_transposed(w3[:, :cin])
        out[k] = w3[:, cin:].contiguous()
    return out


class LipSyncGenerator(nn.Module):
    def __init__(self, cfg: GeneratorConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or GeneratorConfig()
        if cfg.size % 16 != 0:
            raise ValueError(f"crop size must be a multiple of 16, got {cfg.size}")
        if cfg.lower_start % 16 != 0:
            raise ValueError(f"the masked rows must start on a multiple of 16 (got row {cfg.lower_start} for size "
                             f"{cfg.size}, maskRatio {cfg.mask_ratio})")
        w = cfg.widths
        self.rows = encoder_rows(cfg.size, cfg.lower_start)
        chans = [6, w[0], w[1], w[2], w[3]]
        self.enc = nn.ModuleList([EncoderStage(chans[i], chans[i + 1], self.rows[i]) for i in range(4)])
        self.audio = AudioEncoder(cfg)
        self.bottleneck_film = FiLM(cfg.audio_dim, w[3])
        self.dec = nn.ModuleList([
            DecoderStage(w[3], w[2], w[2], cfg.audio_dim, cfg.upsample),  # 8x16 (of 16x16 map)
            DecoderStage(w[2], w[1], w[1], cfg.audio_dim, cfg.upsample),  # 16x32
            DecoderStage(w[1], w[0], w[0], cfg.audio_dim, cfg.upsample),  # 32x64
            DecoderStage(w[0], 3 + cfg.ref_features, w[0], cfg.audio_dim, cfg.upsample),  # 64x128, skip = reference lower half
        ])
        self.ref_path = nn.Sequential(conv(3, cfg.ref_features), nn.ReLU(inplace=True),
                                      conv(cfg.ref_features, cfg.ref_features), nn.ReLU(inplace=True)) \
            if cfg.ref_features > 0 else None
        if cfg.output not in ("direct", "residual", "warp"):
            raise ValueError(f"output must be direct, residual or warp, got {cfg.output!r}")
        self.head = conv(w[0], 5 if cfg.output == "warp" else 3)
        if cfg.output == "warp":
            nn.init.zeros_(self.head.weight[3:])
            nn.init.zeros_(self.head.bias[3:])
            self.register_buffer("grid", lower_grid(cfg.size, cfg.lower_start), persistent=False)

    def forward(self, masked: torch.Tensor, reference: torch.Tensor, audio: torch.Tensor,
                articulation: torch.Tensor | None = None, opening_gain: torch.Tensor | None = None) -> torch.Tensor:
        """`articulation` [B,2] (cfg.articulation models only; None = the prior, i.e. an unknown person);
        `opening_gain` [B,1] (cfg.opening_gain models only; None = 1, the trained network)."""
        cfg = self.cfg
        y0 = cfg.lower_start
        code = self.audio(audio, articulation)
        if cfg.opening_gain and opening_gain is not None:
            # The silent window is a constant, so an export folds its code into one constant tensor.
            silence = self.audio(torch.full_like(audio, -1.0), articulation)
            code = silence + opening_gain * (code - silence)
        feats = []
        rows = self.rows
        x = torch.cat([masked, reference], 1)[:, :, rows[0].inp:]
        for i, stage in enumerate(self.enc):
            x = stage(x)
            feats.append(x)
            if i + 1 < len(self.enc):
                x = x[:, :, rows[i + 1].inp - rows[i].out:]
        # Lower rows of each scale (scale factor 2**(i+1)); feats[i] starts at row rows[i].out.
        lowers = [f[:, :, y0 // (2 ** (i + 1)) - rows[i].out:, :] for i, f in enumerate(feats)]
        x = self.bottleneck_film(lowers[3], code)
        ref_lower = reference[:, :, y0:, :]
        ref_skip = ref_lower if self.ref_path is None else torch.cat([ref_lower, self.ref_path(ref_lower)], 1)
        skips = [lowers[2], lowers[1], lowers[0], ref_skip]
        for stage, skip in zip(self.dec, skips):
            x = stage(x, skip, code)
        x = self.head(x)
        if cfg.output == "warp":
            flow = torch.tanh(x[:, 3:5]) * WARP_RANGE
            base = F.grid_sample(reference, self.grid + flow.permute(0, 2, 3, 1), mode="bilinear", padding_mode="border",
                                 align_corners=False)
            t = torch.tanh(x[:, :3])
            r = F.relu(t)
            lower = base + r * (1.0 - base) - (r - t) * base
        elif cfg.output == "residual":
            t = torch.tanh(x)
            r = F.relu(t)  # relu(-t) written as r - t so the graph needs no Neg op
            lower = ref_lower + r * (1.0 - ref_lower) - (r - t) * ref_lower
        else:
            lower = torch.sigmoid(x)
        return torch.cat([masked[:, :, :y0, :], lower], 2)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_flops(model: LipSyncGenerator) -> int:
    """FLOPs (2 x multiply-adds) of one frame for convs and Gemms (elementwise ops are negligible)."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
        total[0] += 2 * out.numel() // out.shape[0] * k

    def tconv_hook(m, inp, out):
        # Every input pixel meets every tap once: 2 x in pixels x cout x kh x kw.
        x = inp[0]
        total[0] += 2 * x.numel() // x.shape[0] * m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]

    def lin_hook(m, inp, out):
        total[0] += 2 * m.in_features * m.out_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.ConvTranspose2d):
            hooks.append(m.register_forward_hook(tconv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    cfg = model.cfg
    with torch.no_grad():
        model(*example_inputs(cfg))
    for h in hooks:
        h.remove()
    return total[0]


def example_inputs(cfg: GeneratorConfig, batch: int = 1, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    s = cfg.size
    masked = torch.rand(batch, 3, s, s, generator=g)
    masked[:, :, cfg.lower_start:, :] = 0.5
    reference = torch.rand(batch, 3, s, s, generator=g)
    audio = torch.rand(batch, cfg.mel_bins, cfg.audio_frames, generator=g) * 2 - 1
    if cfg.articulation:
        return masked, reference, audio, articulation_example(cfg, batch, g)
    return masked, reference, audio


def articulation_example(cfg: GeneratorConfig, batch: int, g: torch.Generator) -> torch.Tensor:
    """[B,2] plausible (p50, p90) openings around the prior."""
    prior = torch.tensor([list(cfg.articulation)], dtype=torch.float32)
    return (prior * (0.5 + torch.rand(batch, 2, generator=g))).clamp(min=0)


def describe(cfg: GeneratorConfig | None = None) -> dict:
    model = LipSyncGenerator(cfg)
    params = count_params(model)
    return {"params": params, "weightsMB": params * 4 / 1e6, "gflops": count_flops(model) / 1e9,
            "config": model.cfg.to_json()}


if __name__ == "__main__":
    print(json.dumps(describe(), indent=2))
