"""Unit tests for the trainer's data path and model contract:
  /usr/bin/python3 -m unittest discover -s tools/train -p 'test_*.py'"""
from __future__ import annotations

import math
import os
import sys
import tempfile
import unittest

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import AudioAugmentConfig, AugmentConfig, DatasetError, PreparedData, augment_audio, make_batch  # noqa: E402
from model import WARP_RANGE, GeneratorConfig, LipSyncGenerator, count_flops, count_params, example_inputs  # noqa: E402
from synth import write_synthetic  # noqa: E402


def write_pairs(root: str, triples) -> None:
    np.asarray(triples, dtype=np.int32).tofile(os.path.join(root, "pairs.i32"))


class DataTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.root = cls.tmp.name
        write_synthetic(cls.root, clips=2, frames=30, size=64, identities=2, seed=1, invalid_rate=0.0)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_rejects_pairs_that_break_the_reference_rule(self):
        write_pairs(self.root, [[0, 10, 16], [1, 20, 15]])  # |15 - 20| = 5 is not > 5
        with self.assertRaisesRegex(DatasetError, r"reference rule.*target 20 reference 15"):
            PreparedData(self.root)
        write_pairs(self.root, [[0, 10, 10]])
        with self.assertRaisesRegex(DatasetError, "reference rule"):
            PreparedData(self.root)

    def test_rejects_invalid_frames_and_unknown_clips(self):
        valid_path = os.path.join(self.root, "clip000", "valid.u8")
        original = np.fromfile(valid_path, np.uint8)
        try:
            broken = original.copy()
            broken[3] = 0
            broken.tofile(valid_path)
            write_pairs(self.root, [[0, 3, 20]])
            with self.assertRaisesRegex(DatasetError, "invalid"):
                PreparedData(self.root)
        finally:
            original.tofile(valid_path)
        write_pairs(self.root, [[5, 3, 20]])
        with self.assertRaisesRegex(DatasetError, "clip 5"):
            PreparedData(self.root)

    def test_mel_window_is_centred_on_4i_and_padded_with_silence(self):
        write_pairs(self.root, [[0, 10, 20]])
        data = PreparedData(self.root)
        clip = data.clips[0]
        w = data.mel_window(clip, 10, 8, 8)
        np.testing.assert_array_equal(w, np.asarray(clip.mel[32:48]).T)
        first = data.mel_window(clip, 0, 8, 8)
        np.testing.assert_array_equal(first[:, :8], -1.0)
        np.testing.assert_array_equal(first[:, 8:], np.asarray(clip.mel[0:8]).T)
        last = data.mel_window(clip, clip.frames - 1, 8, 8)
        self.assertTrue((last[:, 4 + 8:] == -1).all())  # 4 mel frames exist past the last video frame's centre

    def test_split_by_identity_keeps_schedule_order(self):
        write_pairs(self.root, [[0, 1, 20], [1, 2, 20], [0, 3, 20], [1, 4, 20]])
        data = PreparedData(self.root)
        train, val = data.split({"person1"})
        np.testing.assert_array_equal(train[:, 1], [1, 3])
        np.testing.assert_array_equal(val[:, 1], [2, 4])
        with self.assertRaisesRegex(DatasetError, "nobody"):
            data.split({"nobody"})

    def test_augmentation_is_consistent_and_masks_after_warping(self):
        write_pairs(self.root, [[0, t, (t + 15) % 30] for t in range(8)])
        data = PreparedData(self.root)
        raw = data.load(data.pairs, 8, 8)
        g = torch.Generator().manual_seed(3)
        b = make_batch(raw, 64, 0.5, 0.5, AugmentConfig(), g)
        # The unmasked rows of `masked` are the augmented target itself; the rest is the fill value.
        torch.testing.assert_close(b["masked"][:, :, :32], b["target"][:, :, :32])
        self.assertTrue((b["masked"][:, :, 32:] == 0.5).all())
        self.assertFalse(torch.equal(b["target"], raw["target"]))  # augmentation did something
        # The mouth weight follows the warped mouth: it peaks on the dark mouth interior of the target.
        w = b["weight"][:, 0]
        self.assertTrue((w[:, :32].sum((1, 2)) < 0.2 * w.sum((1, 2))).all(), "mouth weight should sit in the lower half")
        dark = (b["target"].mean(1) < 0.3).float()
        inside = (dark * (w > 0.9)).sum() / dark.sum()
        self.assertGreater(float(inside), 0.5)

    def _geometry(self, **extra):
        """(raw pairs, batch with no augmentation, batch with only `extra`, a function making a batch of any raw input
        with only `extra`), all from one seed."""
        write_pairs(self.root, [[0, t, (t + 15) % 30] for t in range(8)])
        data = PreparedData(self.root)
        raw = data.load(data.pairs, 8, 8)
        still = dict(shift=0, scale=0, ref_shift=0, ref_scale=0, brightness=0, contrast=0, gain=0, flip=0)
        plain = make_batch(raw, 64, 0.5, 0.5, AugmentConfig(**still), torch.Generator().manual_seed(5))
        batch = lambda r: make_batch(r, 64, 0.5, 0.5, AugmentConfig(**still, **extra), torch.Generator().manual_seed(5))
        return raw, plain, batch(raw), batch

    def test_a_shape_change_moves_target_reference_and_lips_together(self):
        raw, plain, b, batch = self._geometry(stretch=0.3, rotate=15)
        self.assertFalse(torch.allclose(b["target"], plain["target"], atol=0.05))
        # Target and reference of a sample get the same shape change: a pair of identical pictures stays identical.
        twins = batch({**raw, "reference": raw["target"].clone()})
        torch.testing.assert_close(twins["target"], twins["reference"])
        # The lips moved with the picture: the warped mouth's dark interior sits inside the moved lip ellipse.
        w = b["weight"][:, 0]
        dark = (b["target"].mean(1) < 0.3).float()
        self.assertGreater(float((dark * (w > 0.9)).sum() / dark.sum()), 0.5)
        moved = (b["lips"] - plain["lips"]).norm(dim=2).mean()
        self.assertGreater(float(moved), 1.0)
        # A mouth made wider is read as one: the corners' distance changes by the drawn aspect, not by nothing.
        width = lambda lips: (lips[:, :, 0].max(1).values - lips[:, :, 0].min(1).values)
        self.assertGreater(float((width(b["lips"]) / width(plain["lips"]) - 1).abs().max()), 0.05)

    def test_a_mouth_warp_moves_the_lower_face_and_its_lips_but_not_the_eyes(self):
        from data import _apply_mouth_warp, _unwarp_mouth_points
        raw, plain, b, batch = self._geometry(mouth_warp=0.08)
        # The top third (eyes, brows) is untouched; the lips moved and the dark mouth moved with them.
        torch.testing.assert_close(b["target"][:, :, :20], plain["target"][:, :, :20])
        self.assertGreater(float((b["lips"] - plain["lips"]).norm(dim=2).mean()), 1.0)
        dark = (b["target"].mean(1) < 0.3).float()
        self.assertGreater(float((dark * (b["weight"][:, 0] > 0.9)).sum() / dark.sum()), 0.5)
        # The same warp on target and reference: identical pictures stay identical.
        twins = batch({**raw, "reference": raw["target"].clone()})
        torch.testing.assert_close(twins["target"], twins["reference"])
        # The points' inverse is exact: warping the unwarped points lands on the points.
        mw = torch.tensor([[0.16, -0.08, 0.12], [-0.1, 0.08, -0.12]])
        pts = torch.rand(2, 40, 2) * 2 - 1
        back = _apply_mouth_warp(_unwarp_mouth_points(pts, mw)[:, None], mw)[:, 0]
        torch.testing.assert_close(back, pts, atol=1e-5, rtol=0)

    def test_the_mesh_input_and_its_points_map_back_onto_the_crop(self):
        from facemesh import MESH_SIZE, crop_to_mesh_input, mesh_points_in_crop
        for size in (128, 64):
            crop = torch.zeros(1, 3, size, size)
            x, y = int(size * 0.3), int(size * 0.8)  # a lit pixel where a mouth corner would be
            crop[0, :, y, x] = 1
            img = crop_to_mesh_input(crop)[0, 0]
            self.assertEqual(tuple(img.shape), (MESH_SIZE, MESH_SIZE))
            v, u = divmod(int(img.argmax()), MESH_SIZE)
            back = mesh_points_in_crop(torch.tensor([[[u + 0.5, v + 0.5]]]), size)[0, 0]
            # Within a pixel of the lit pixel's centre (edge coordinates, as the data's landmarks).
            self.assertLess(float((back - torch.tensor([x + 0.5, y + 0.5])).norm()), 1.0)

    def test_flip_mirrors_images_and_swaps_left_right_lip_points(self):
        from data import LIP_MIRROR, OUTER_LIPS
        write_pairs(self.root, [[0, t, (t + 15) % 30] for t in range(8)])
        data = PreparedData(self.root)
        raw = data.load(data.pairs, 8, 8)
        still = AugmentConfig(shift=0, scale=0, ref_shift=0, ref_scale=0, brightness=0, contrast=0, gain=0, flip=1.0)
        b = make_batch(raw, 64, 0.5, 0.5, still, torch.Generator().manual_seed(0))
        torch.testing.assert_close(b["target"], raw["target"].flip(3))
        torch.testing.assert_close(b["reference"], raw["reference"].flip(3))
        # The right mouth corner (61) of the mirrored face is where the left one (291) was, mirrored.
        r, l = OUTER_LIPS.index(61), OUTER_LIPS.index(291)
        self.assertEqual(LIP_MIRROR[r], l)
        torch.testing.assert_close(b["lips"][:, r, 0], 64 - raw["lips"][:, l, 0])
        torch.testing.assert_close(b["lips"][:, r, 1], raw["lips"][:, l, 1])
        # Opening is a left/right-symmetric measure: unchanged.
        unflipped = make_batch(raw, 64, 0.5, 0.5, None, None)
        torch.testing.assert_close(b["opening"], unflipped["opening"])


class AudioAugmentTest(unittest.TestCase):
    """The mel-domain augmentation for new voices: a tone moves along the mel axis by the drawn warp, loudness shifts by
    the drawn gain, silence stays silence without noise and becomes a quiet floor with it, prob 0 changes nothing."""
    MEL = {"dbFloor": -80, "dbCeil": 40}  # a dataset's index.json "mel" (data:prepare writes melConfig.ts's)

    def cfg(self, **kw):
        c = AudioAugmentConfig.for_mel(self.MEL, 1.0)
        for k, v in kw.items():
            setattr(c, k, v)
        return c

    def window(self):
        a = torch.full((1, 80, 16), -1.0)
        a[0, 40, 4:12] = 0.2  # a tone in bin 40 during 80 ms, silence around it
        return a

    @staticmethod
    def drawn(seed: int, bound: float, k: int) -> float:
        """The k-th per-sample draw of augment_audio (0 = on, 1 = warp, 2 = gain) for batch 1, scaled to +-bound."""
        g = torch.Generator().manual_seed(seed)
        for _ in range(k):
            torch.rand(1, generator=g)
        return float((torch.rand(1, generator=g) * 2 - 1) * bound)

    def test_the_tone_moves_by_the_drawn_warp(self):
        for seed in range(4):
            out = augment_audio(self.window(), self.cfg(gain_db=0.0, noise_prob=0.0), torch.Generator().manual_seed(seed))
            power = 10.0 ** (((out[0, :, 8] + 1) * 60 - 80) / 10)
            power = torch.where(out[0, :, 8] <= -1, torch.zeros_like(power), power)
            centroid = float((power * torch.arange(80)).sum() / power.sum())
            self.assertAlmostEqual(centroid, 40 + self.drawn(seed, 2.0, 1), places=3)
            self.assertTrue(bool((out[0, :, :4] == -1).all()), "silence stays silence without noise")

    def test_loudness_moves_by_the_drawn_gain_and_silence_cannot_gain(self):
        for seed in range(4):
            out = augment_audio(self.window(), self.cfg(warp_bins=0.0, noise_prob=0.0), torch.Generator().manual_seed(seed))
            self.assertAlmostEqual(float(out[0, 40, 8] - 0.2) * 60, self.drawn(seed, 10.0, 2), places=3)
            self.assertTrue(bool((out[0, 40, :4] == -1).all()), "a gain change cannot make nothing into something")

    def test_noise_floor_fills_silence_but_not_above_speech(self):
        cfg = self.cfg(gain_db=0.0, warp_bins=0.0, noise_prob=1.0, noise_db=(-60.0, -60.0))
        out = augment_audio(self.window(), cfg, torch.Generator().manual_seed(0))
        floor_db = (out[0, :, :4] + 1) * 60 - 80
        self.assertTrue(bool(((floor_db > -63.01) & (floor_db < -56.99)).all()), "a -60 dB floor (+-3 dB tilt) in the silence")
        self.assertAlmostEqual(float(out[0, 40, 8]), 0.2, places=3)  # a -60 dB floor under a -32 dB tone adds ~nothing

    def test_off_by_default_in_range_and_needs_the_datasets_mel_scale(self):
        a = torch.rand(4, 80, 16) * 2 - 1
        self.assertTrue(torch.equal(augment_audio(a, AudioAugmentConfig.for_mel(self.MEL, 0.0), torch.Generator()), a))
        out = augment_audio(a, self.cfg(), torch.Generator().manual_seed(1))
        self.assertEqual(out.shape, a.shape)
        self.assertTrue(bool(((out >= -1) & (out <= 1)).all()))
        with self.assertRaisesRegex(DatasetError, "data:prepare"):
            AudioAugmentConfig.for_mel(None, 0.5)


class ModelTest(unittest.TestCase):
    def test_upper_rows_are_copied_and_output_in_range(self):
        cfg = GeneratorConfig()
        model = LipSyncGenerator(cfg).eval()
        masked, reference, audio = example_inputs(cfg, batch=2)
        with torch.no_grad():
            out = model(masked, reference, audio)
        self.assertEqual(tuple(out.shape), (2, 3, 128, 128))
        torch.testing.assert_close(out[:, :, :64], masked[:, :, :64], rtol=0, atol=0)
        self.assertTrue(((out >= 0) & (out <= 1)).all())

    def test_output_depends_on_audio_once_film_is_trained(self):
        torch.manual_seed(0)
        model = LipSyncGenerator(GeneratorConfig()).eval()
        for m in model.modules():  # FiLM starts as identity; give it weights as training would
            if m.__class__.__name__ == "FiLM":
                torch.nn.init.normal_(m.gamma.weight, std=0.5)
                torch.nn.init.normal_(m.beta.weight, std=0.5)
        masked, reference, audio = example_inputs(model.cfg)
        with torch.no_grad():
            a = model(masked, reference, audio)
            b = model(masked, reference, -torch.ones_like(audio))
        self.assertGreater(float((a - b).abs().max()), 1e-3)

    def test_default_model_fits_the_budget(self):
        model = LipSyncGenerator(GeneratorConfig())
        self.assertLess(count_params(model) * 4, 20e6)
        self.assertLess(count_flops(model), 3e9)


class FreezeTest(unittest.TestCase):
    def test_prefixes_name_whole_layers_missing_ones_are_skipped_and_none_at_all_is_an_error(self):
        from train import frozen_names
        model = LipSyncGenerator(GeneratorConfig(ref_features=0))
        names = frozen_names(model, "enc.0,head,ref_path")  # this network has no reference path
        self.assertIn("enc.0.down.weight", names)
        self.assertIn("head.weight", names)
        self.assertFalse(any(n.startswith("enc.1") or n.startswith("audio") for n in names))
        # "dec.0.conv1" names that layer only, not conv2 or the FiLM beside it.
        self.assertEqual(frozen_names(model, "dec.0.conv1"), {"dec.0.conv1.weight", "dec.0.conv1.bias"})
        self.assertEqual(frozen_names(model, ""), set())
        with self.assertRaises(SystemExit):
            frozen_names(model, "decoder,encoder")


class InitFromOnnxTest(unittest.TestCase):
    def test_weights_read_back_from_an_export_reproduce_the_model(self):
        from export import export
        from train import load_onnx_weights
        cfg = GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12)
        torch.manual_seed(3)
        src = LipSyncGenerator(cfg).eval()
        with torch.no_grad():  # zero-initialised FiLM weights would be deduplicated by the exporter
            for p in src.parameters():
                p.normal_(0, 0.05)
        with tempfile.TemporaryDirectory() as d:
            export(src, {"meta": {}}, d, "t", "0", None, "x", "d")
            dst = LipSyncGenerator(cfg).eval()
            load_onnx_weights(dst, os.path.join(d, "generator.onnx"))
        inputs = example_inputs(cfg)
        with torch.no_grad():
            self.assertEqual(float((src(*inputs) - dst(*inputs)).abs().max()), 0.0)


class OpeningExpertTest(unittest.TestCase):
    def test_frozen_expert_passes_gradients_to_the_image_only(self):
        import tempfile
        from opening import OpeningNet, load_opening_net
        net = OpeningNet(8)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "o.pt")
            torch.save({"model": net.state_dict(), "width": 8}, path)
            frozen = load_opening_net(path)
        self.assertTrue(all(not p.requires_grad for p in frozen.parameters()))
        self.assertFalse(frozen.training)
        img = torch.rand(2, 3, 64, 128, requires_grad=True)
        frozen(img).sum().backward()
        self.assertIsNotNone(img.grad)
        self.assertGreater(float(img.grad.abs().sum()), 0.0)
        self.assertTrue(torch.equal(frozen(img.detach()), net.eval()(img.detach())))

    def test_swapped_audio_term_asks_for_the_donor_samples_opening(self):
        from opening import OPENING_SCALE
        from train import swapped_audio_opening

        class AudioPaints(torch.nn.Module):  # lower half = mean of the audio it was given
            def forward(self, masked, reference, audio):
                return masked * 0 + audio.mean(dim=(1, 2, 3)).view(-1, 1, 1, 1)

        class ReadsBrightness:  # "opening" = mean of the lower half
            def read(self, lower):
                return lower.mean(dim=(1, 2, 3)), None

        n, size = 4, 16
        batch = {"masked": torch.zeros(n, 3, size, size), "reference": torch.zeros(n, 3, size, size),
                 "audio": torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 4, 4).clone(),
                 "opening": torch.arange(n, dtype=torch.float32) / OPENING_SCALE}
        # Sample i is generated with sample i+1's audio and scored against sample i+1's opening: exact, so 0.
        self.assertAlmostEqual(float(swapped_audio_opening(AudioPaints(), batch, ReadsBrightness(), size // 2, 3)), 0.0)
        # A model that copies the reference (sample i's own mouth, value i) misses by one opening unit each.
        class CopiesReference(torch.nn.Module):
            def forward(self, masked, reference, audio):
                return reference

        batch["reference"] = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 3, size, size).clone()
        self.assertAlmostEqual(float(swapped_audio_opening(CopiesReference(), batch, ReadsBrightness(), size // 2, 3)), 1.0, places=5)

    def test_lip_shape_expert_reads_positions_and_labels_are_lower_half_fractions(self):
        import tempfile
        from opening import LIP_POINTS, OpeningNet, lip_shape_label, load_opening_net
        net = OpeningNet(8, lip_shape=True)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "o.pt")
            torch.save({"model": net.state_dict(), "width": 8, "lipShape": True}, path)
            frozen = load_opening_net(path)
        self.assertTrue(frozen.lip_shape)
        img = torch.rand(2, 3, 64, 128, requires_grad=True)
        opening, lips = frozen.read(img)
        self.assertEqual(tuple(opening.shape), (2,))
        self.assertEqual(tuple(lips.shape), (2, LIP_POINTS, 2))
        lips.sum().backward()
        self.assertGreater(float(img.grad.abs().sum()), 0.0)
        # The centre of the lower half's top edge is (0.5, 0) of the crop, times the opening scale.
        label = lip_shape_label(torch.tensor([[[64.0, 64.0], [0.0, 128.0]]]), 128)
        self.assertTrue(torch.allclose(label, torch.tensor([[[5.0, 0.0], [0.0, 5.0]]])))
        with self.assertRaises(ValueError):  # the position head is laid out for 128 px crops
            frozen.read(torch.rand(1, 3, 32, 64))


class MouthWeightedL1Test(unittest.TestCase):
    def test_a_dark_line_between_the_lips_weighs_on_the_mouth_term_not_on_the_plain_l1(self):
        """What --distill-silence-mouth is for: a few dark pixels between closed lips are a rounding error of the
        L1 over the lower half, and most of the mouth-weighted L1."""
        from data import mouth_weight, INNER_LIPS, OUTER_LIPS
        from train import mouth_l1
        s = 64
        pts = []
        for i in range(len(OUTER_LIPS) + len(INNER_LIPS)):  # a flat mouth around (32, 48), 20 px wide
            a = 2 * math.pi * i / 20
            pts.append([32 + 10 * math.cos(a), 48 + 2 * math.sin(a)])
        weight = mouth_weight(torch.tensor([pts], dtype=torch.float32), s)
        teacher = torch.full((1, 3, s, s), 0.6)
        line = teacher.clone()
        line[:, :, 48, 24:41] = 0.1  # the student's dark line where the lips meet
        far = teacher.clone()
        far[:, :, 36, 24:41] = 0.1  # the same pixels 12 rows higher, between nose and mouth
        y0 = s // 2
        plain = lambda x: float((x - teacher)[:, :, y0:].abs().mean())
        mouth = lambda x: float(mouth_l1((x - teacher)[:, :, y0:].abs(), weight[:, :, y0:]))
        self.assertAlmostEqual(plain(line), plain(far), places=6)  # the plain L1 cannot tell them apart
        self.assertLess(plain(line), 0.01)
        self.assertGreater(mouth(line), 4 * mouth(far))
        self.assertGreater(mouth(line), 5 * plain(line))
        self.assertEqual(mouth(teacher), 0.0)


class InitGrowsReferencePathTest(unittest.TestCase):
    def test_a_model_with_the_new_reference_path_starts_as_the_exported_one(self):
        from export import export
        from train import load_onnx_weights
        cfg = GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12)
        torch.manual_seed(4)
        src = LipSyncGenerator(cfg).eval()
        with torch.no_grad():
            for p in src.parameters():
                p.normal_(0, 0.05)
        grown_cfg = GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12, ref_features=6)
        with tempfile.TemporaryDirectory() as d:
            export(src, {"meta": {}}, d, "t", "0", None, "x", "d")
            dst = LipSyncGenerator(grown_cfg).eval()
            load_onnx_weights(dst, os.path.join(d, "generator.onnx"))
        inputs = example_inputs(cfg)
        with torch.no_grad():
            self.assertEqual(float((src(*inputs) - dst(*inputs)).abs().max()), 0.0)
        # ... and the path is live: once its channels get weights, the output depends on them.
        with torch.no_grad():
            dst.dec[3].conv1.weight[:, -6:].normal_(0, 0.1)
            self.assertGreater(float((src(*inputs) - dst(*inputs)).abs().max()), 1e-4)


class OpeningGainTest(unittest.TestCase):
    """The inference-time opening control (model.GeneratorConfig.opening_gain): audio code moved towards silence's."""

    def test_gain_one_is_the_trained_network_and_zero_the_network_hearing_silence(self):
        cfg = GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12, opening_gain=True)
        torch.manual_seed(7)
        model = LipSyncGenerator(cfg).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 0.1)
            masked, reference, audio = example_inputs(cfg, batch=2)
            trained = model(masked, reference, audio)
            self.assertEqual(float((model(masked, reference, audio, opening_gain=torch.ones(2, 1)) - trained).abs().max()), 0.0)
            silent = model(masked, reference, torch.full_like(audio, -1.0))
            self.assertLess(float((model(masked, reference, audio, opening_gain=torch.zeros(2, 1)) - silent).abs().max()), 1e-6)
            half = model(masked, reference, audio, opening_gain=torch.full((2, 1), 0.5))
            self.assertGreater(float((half - trained).abs().max()), 1e-4)
            # Per sample: one sample's gain leaves the other alone.
            mixed = model(masked, reference, audio, opening_gain=torch.tensor([[1.0], [0.5]]))
            self.assertEqual(float((mixed[0] - trained[0]).abs().max()), 0.0)
            self.assertLess(float((mixed[1] - half[1]).abs().max()), 1e-6)


class ArticulationTest(unittest.TestCase):
    """The person's own opening range as a fourth input (model.GeneratorConfig.articulation)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        write_synthetic(cls.tmp.name, clips=2, frames=60, size=64, identities=2, seed=5, invalid_rate=0.0)
        write_pairs(cls.tmp.name, [(0, 0, 10)])
        cls.data = PreparedData(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_the_range_leaves_out_the_targets_neighbourhood_and_falls_back_to_the_prior(self):
        from data import articulation_stats
        clip = self.data.clips[0]
        prior = (0.03, 0.06)
        base = self.data.articulation(clip, 30, prior)
        # A wide-open mouth within 5 frames of the target must not move the target's input (the reference rule).
        saved = clip.openings.copy()
        try:
            clip.openings[25:36] = 0.5
            self.assertTrue(np.allclose(self.data.articulation(clip, 30, prior), base))
            clip.openings[:] = saved
            clip.openings[20] = 0.5  # 10 frames away: it counts
            self.assertFalse(np.allclose(self.data.articulation(clip, 30, prior), base))
        finally:
            clip.openings[:] = saved
        self.assertTrue(np.allclose(base, np.quantile(np.concatenate([saved[:25], saved[36:]]), [0.5, 0.9])))
        # Too few faces, or a mouth that never opened: unknown -> the prior.
        self.assertEqual(list(articulation_stats(np.full(10, 0.04, np.float32), prior)), list(np.float32(prior)))
        self.assertEqual(list(articulation_stats(np.full(100, 0.001, np.float32), prior)), list(np.float32(prior)))
        self.assertEqual(list(articulation_stats(np.full(100, np.nan, np.float32), prior)), list(np.float32(prior)))

    def test_training_windows_vary_and_unknown_draws_the_prior(self):
        clip = self.data.clips[1]
        rng = np.random.default_rng(0)
        prior = (0.03, 0.06)
        draws = np.array([self.data.articulation(clip, 30, prior, rng, unknown=0.3) for _ in range(200)])
        is_prior = np.all(np.isclose(draws, np.float32(prior)), axis=1)
        self.assertTrue(0.15 < is_prior.mean() < 0.45, is_prior.mean())
        self.assertGreater(len({tuple(np.round(d, 6)) for d in draws[~is_prior]}), 10)  # windows of many lengths/places

    def test_a_model_grown_with_the_input_starts_as_the_exported_one_and_then_hears_it(self):
        from export import export
        from train import load_onnx_weights
        cfg = GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12)
        torch.manual_seed(6)
        src = LipSyncGenerator(cfg).eval()
        with torch.no_grad():
            for p in src.parameters():
                p.normal_(0, 0.05)
        grown = GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12, articulation=(0.04, 0.07))
        with tempfile.TemporaryDirectory() as d:
            export(src, {"meta": {}}, d, "t", "0", None, "x", "d")
            dst = LipSyncGenerator(grown).eval()
            load_onnx_weights(dst, os.path.join(d, "generator.onnx"))
        inputs = example_inputs(grown)
        with torch.no_grad():
            self.assertEqual(float((src(*inputs[:3]) - dst(*inputs)).abs().max()), 0.0)
            dst.audio.articulation.weight.normal_(0, 0.5)
            wide = dst(*inputs[:3], torch.tensor([[0.08, 0.12]]))
            narrow = dst(*inputs[:3], torch.tensor([[0.005, 0.02]]))
            self.assertGreater(float((wide - narrow).abs().max()), 1e-3)
            # No input = the prior.
            self.assertEqual(float((dst(*inputs[:3]) - dst(*inputs[:3], torch.tensor([[0.04, 0.07]]))).abs().max()), 0.0)

    def test_the_export_declares_the_input_with_its_prior(self):
        import json
        from export import export
        cfg = GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12, articulation=(0.04, 0.07))
        model = LipSyncGenerator(cfg).eval()
        with torch.no_grad():  # zero-initialised weights would be deduplicated by the exporter
            for p in model.parameters():
                p.normal_(0, 0.05)
        with tempfile.TemporaryDirectory() as d:
            export(model, {"meta": {}}, d, "t", "0", None, "x", "d")
            manifest = json.load(open(os.path.join(d, "manifest.json")))
            parity = json.load(open(os.path.join(d, "parity.json")))
        self.assertEqual(manifest["inputs"]["articulation"], {"name": "articulation", "shape": [1, 2], "prior": [0.04, 0.07]})
        self.assertEqual(parity["inputs"]["articulation"]["shape"], [1, 2])
        self.assertEqual(manifest["architecture"]["config"]["articulation"], [0.04, 0.07])


class WarpOutputTest(unittest.TestCase):
    """output "warp": the residual over the reference's lower half warped by a predicted flow."""

    def test_a_residual_export_starts_a_warp_model_exactly_and_the_flow_moves_the_reference(self):
        from export import export
        from train import load_onnx_weights
        from onnx_inspect import inspect_onnx
        cfg = GeneratorConfig(size=64, widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12, upsample="transposed")
        torch.manual_seed(5)
        src = LipSyncGenerator(cfg).eval()
        with torch.no_grad():
            for p in src.parameters():
                p.normal_(0, 0.05)
        warp_cfg = GeneratorConfig(**{**cfg.to_json(), "output": "warp"})
        with tempfile.TemporaryDirectory() as d:
            export(src, {"meta": {}}, d, "t", "0", None, "x", "d")
            dst = LipSyncGenerator(warp_cfg).eval()
            load_onnx_weights(dst, os.path.join(d, "generator.onnx"))
            e = os.path.join(d, "warp")
            export(dst, {"meta": {}}, e, "t", "0", None, "x", "d")
            ops = set(inspect_onnx(os.path.join(e, "generator.onnx"))["ops"])
        self.assertTrue({"GridSample", "Transpose"} <= ops, ops)
        inputs = example_inputs(cfg)
        with torch.no_grad():
            self.assertEqual(float((src(*inputs) - dst(*inputs)).abs().max()), 0.0)  # zero flow = identity warp
            # A uniform flow of +4 px to the right (the flow's bias, through tanh) samples the reference 4 px further
            # right: with no residual, the lower half is the reference's lower half shifted left by 4 px.
            dst.head.weight.zero_()
            dst.head.bias.zero_()
            dst.head.bias[3] = math.atanh(4 * 2 / 64 / WARP_RANGE)
            out = dst(*inputs)
            ref = inputs[1]
            y0 = cfg.lower_start
            self.assertLess(float((out[:, :, y0:, :-4] - ref[:, :, y0:, 4:]).abs().max()), 1e-5)


class WeightAverageTest(unittest.TestCase):
    """--ema: the average of the weights is what validation, best.pt and export.py use."""

    def test_the_average_follows_the_weights_at_the_warmed_up_rate_and_export_picks_it(self):
        from average import WeightAverage
        from export import load_checkpoint
        cfg = GeneratorConfig(size=64, widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12)
        torch.manual_seed(3)
        model = LipSyncGenerator(cfg)
        start = {k: v.clone() for k, v in model.state_dict().items()}
        avg = WeightAverage(model, 0.99)
        # Two steps of the weights: +1 then +2 on every parameter. Decays 1/10 then 2/11 (the warm-up), not 0.99.
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        avg.update(model)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1.0)
        avg.update(model)
        first = 0.1 * 0.0 + 0.9 * 1.0  # keeps 1/10 of the start
        expected_shift = (2 / 11) * first + (9 / 11) * 2.0
        for name, p in avg.model.named_parameters():
            self.assertLess(float((p - start[name] - expected_shift).abs().max()), 1e-5, name)
        self.assertAlmostEqual(avg.rate(), 3 / 12)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "last.pt")
            torch.save({"model": model.state_dict(), "ema": avg.state_dict(), "config": cfg.to_json()}, path)
            averaged, _ = load_checkpoint(path)
            trained, _ = load_checkpoint(path, raw=True)
        for (name, a), b, c in zip(averaged.named_parameters(), avg.model.parameters(), model.parameters()):
            self.assertTrue(torch.equal(a, b), f"export did not write the average: {name}")
        for (name, a), c in zip(trained.named_parameters(), model.parameters()):
            self.assertTrue(torch.equal(a, c), f"raw=True did not write the trained weights: {name}")

    def test_a_decay_outside_zero_to_one_is_refused(self):
        from average import WeightAverage
        model = LipSyncGenerator(GeneratorConfig(size=64, widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12))
        for bad in (0.0, 1.0, 1.5):
            with self.assertRaisesRegex(ValueError, "--ema is a decay"):
                WeightAverage(model, bad)


class InitGrowsAudioWindowTest(unittest.TestCase):
    def test_a_longer_past_window_starts_close_to_the_exported_model_and_learns_from_the_older_audio(self):
        from export import export
        from train import load_onnx_weights
        small = dict(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12)
        torch.manual_seed(5)
        src = LipSyncGenerator(GeneratorConfig(**small)).eval()
        with torch.no_grad():
            for p in src.parameters():
                p.normal_(0, 0.05)
            for f in [src.bottleneck_film] + [d.film for d in src.dec]:  # FiLM starts at zero: make the audio matter
                for lin in (f.gamma, f.beta):
                    lin.weight.normal_(0, 0.5)
            # The oldest of the 4 coded time steps is the one whose convs read padding at the window's start, which
            # the longer window replaces with real audio; with its weights at zero the mapping must be exact.
            src.audio.fc.weight.view(12, 16, 4)[:, :, 0] = 0
        with tempfile.TemporaryDirectory() as d:
            export(src, {"meta": {}}, d, "t", "0", None, "x", "d")
            dst = LipSyncGenerator(GeneratorConfig(**small, past=24)).eval()
            load_onnx_weights(dst, os.path.join(d, "generator.onnx"))
        masked, reference, audio = example_inputs(src.cfg)
        torch.manual_seed(6)
        audio = torch.rand_like(audio) * 2 - 1
        older = torch.rand(1, 80, 16) * 2 - 1
        with torch.no_grad():
            a = src.audio(audio)
            b = dst.audio(torch.cat([older, audio], 2))
            other = src.audio(torch.rand_like(audio) * 2 - 1)
            face = dst(masked, reference, torch.cat([older, audio], 2))
        # Same newest 16 frames: the same audio code (each old time step is a new one), and so the same face.
        self.assertLess(float((a - b).abs().max()), 1e-5)
        self.assertGreater(float((a - other).abs().max()), 1e-3)
        with torch.no_grad():
            self.assertLess(float((face - src(masked, reference, audio)).abs().max()), 1e-5)
        # The older frames feed weights that start at zero and can learn.
        fc = dst.audio.fc.weight.reshape(12, 16, -1)
        self.assertEqual(fc.shape[2], 8)
        self.assertEqual(float(fc[:, :, :4].abs().max()), 0.0)


class PruneTest(unittest.TestCase):
    """prune.py: a narrower generator cut out of a trained one (for a faster live path)."""

    def trained(self, **kw):
        torch.manual_seed(7)
        m = LipSyncGenerator(GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12,
                                             upsample="transposed", **kw)).eval()
        with torch.no_grad():
            for p in m.parameters():
                p.normal_(0, 0.1)
        return m

    def test_keeping_every_channel_is_the_same_network(self):
        from prune import prune_state
        src = self.trained(ref_features=3)
        sd, cfg = prune_state(src.state_dict(), src.cfg, src.cfg.widths)
        dst = LipSyncGenerator(cfg).eval()
        dst.load_state_dict(sd)
        inputs = example_inputs(src.cfg)
        with torch.no_grad():
            self.assertEqual(float((src(*inputs) - dst(*inputs)).abs().max()), 0.0)

    def test_a_narrower_cut_keeps_the_strong_channels_and_costs_fewer_flops(self):
        from prune import prune_state
        src = self.trained()
        with torch.no_grad():  # channels 0..5 of the first stage carry the signal, the rest almost nothing
            src.enc[0].down.weight[6:] *= 1e-3
        sd, cfg = prune_state(src.state_dict(), src.cfg, (6, 9, 12, 15))
        self.assertEqual(cfg.widths, (6, 9, 12, 15))
        self.assertTrue(torch.equal(sd["enc.0.down.weight"], src.state_dict()["enc.0.down.weight"][:6]))
        dst = LipSyncGenerator(cfg).eval()
        dst.load_state_dict(sd)  # every tensor has the narrower network's shape
        self.assertLess(count_flops(dst), 0.7 * count_flops(src))
        with torch.no_grad():
            self.assertEqual(dst(*example_inputs(cfg)).shape, src(*example_inputs(src.cfg)).shape)

    def test_refuses_the_nearest_decoder_and_wider_widths(self):
        from prune import prune_state
        near = LipSyncGenerator(GeneratorConfig(widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12))
        with self.assertRaisesRegex(ValueError, "transposed"):
            prune_state(near.state_dict(), near.cfg, (4, 6, 8, 10))
        src = self.trained()
        with self.assertRaisesRegex(ValueError, "no larger than"):
            prune_state(src.state_dict(), src.cfg, (9, 12, 16, 20))


class CroppedEncoderTest(unittest.TestCase):
    """The encoder computes only the rows that reach an output (model.encoder_rows): exactly the full maps' rows."""

    @staticmethod
    def full_maps_forward(m, masked, reference, audio):
        """The generator with every encoder stage over the whole map (as up to 0.3.0), same weights."""
        cfg, y0 = m.cfg, m.cfg.lower_start
        code = m.audio(audio)
        x, feats = torch.cat([masked, reference], 1), []
        for st in m.enc:
            x = F.relu(F.conv2d(F.relu(F.conv2d(x, st.down.weight, st.down.bias, 2, 1)), st.conv.weight, st.conv.bias, 1, 1))
            feats.append(x)
        lowers = [f[:, :, y0 // (2 ** (i + 1)):, :] for i, f in enumerate(feats)]
        x = m.bottleneck_film(lowers[3], code)
        ref_lower = reference[:, :, y0:, :]
        ref_skip = ref_lower if m.ref_path is None else torch.cat([ref_lower, m.ref_path(ref_lower)], 1)
        for stage, skip in zip(m.dec, [lowers[2], lowers[1], lowers[0], ref_skip]):
            x = stage(x, skip, code)
        t = torch.tanh(m.head(x))
        r = F.relu(t)
        return torch.cat([masked[:, :, :y0, :], ref_lower + r * (1.0 - ref_lower) - (r - t) * ref_lower], 2)

    def test_same_output_as_full_maps_at_every_size_and_fewer_flops(self):
        from model import encoder_rows
        self.assertEqual([r.inp for r in encoder_rows(128, 64)], [19, 11, 7, 5])
        for kw in ({}, {"size": 64, "widths": (8, 12, 16, 20)}, {"size": 32, "widths": (8, 8, 8, 8)},
                   {"size": 96, "widths": (8, 12, 16, 20), "upsample": "transposed", "ref_features": 4}):
            cfg = GeneratorConfig(**kw)
            torch.manual_seed(7)
            m = LipSyncGenerator(cfg).eval()
            with torch.no_grad():
                for p in m.parameters():
                    p.normal_(0, 0.05)
                x = example_inputs(cfg, batch=2)
                self.assertEqual(float((m(*x) - self.full_maps_forward(m, *x)).abs().max()), 0.0, kw)
        self.assertLess(count_flops(LipSyncGenerator(GeneratorConfig())), 1.06e9)  # 1.153e9 over the full maps


class TransposedUpsampleTest(unittest.TestCase):
    """Nearest x2 + 3x3 conv is rewritten as a 4x4 stride-2 transposed conv: the same function, fewer FLOPs."""

    def _random(self, cfg, seed):
        torch.manual_seed(seed)
        m = LipSyncGenerator(cfg).eval()
        with torch.no_grad():
            for p in m.parameters():
                p.normal_(0, 0.05)
        return m

    def test_converted_weights_compute_the_same_face_with_fewer_flops(self):
        from model import convert_upsample_state
        for ref in (0, 6):
            cfg = GeneratorConfig(size=64, widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12, ref_features=ref)
            src = self._random(cfg, 5)
            tcfg = GeneratorConfig(**{**cfg.to_json(), "upsample": "transposed"})
            dst = LipSyncGenerator(tcfg).eval()
            dst.load_state_dict(convert_upsample_state(src.state_dict(), cfg))
            inputs = example_inputs(cfg, batch=2)
            with torch.no_grad():
                self.assertLess(float((src(*inputs) - dst(*inputs)).abs().max()), 1e-5)
            self.assertLess(count_flops(dst), count_flops(src))

    def test_the_sub_pixel_training_form_is_the_transposed_conv(self):
        from model import transposed_up
        torch.manual_seed(9)
        x, w = torch.randn(2, 5, 7, 9), torch.randn(5, 3, 4, 4, requires_grad=True)
        a = transposed_up(x, w)
        b = F.conv_transpose2d(x, w, stride=2, padding=1)
        self.assertLess(float((a - b).abs().max()), 1e-4)
        ga, = torch.autograd.grad(a.square().sum(), w)
        gb, = torch.autograd.grad(b.square().sum(), w)
        self.assertLess(float((ga - gb).abs().max() / gb.abs().max()), 1e-5)

    def test_transposed_to_nearest_is_refused_with_a_message(self):
        from model import with_upsample
        cfg = GeneratorConfig(upsample="transposed")
        self.assertIs(with_upsample(cfg, None, "x.onnx"), cfg)
        self.assertEqual(with_upsample(GeneratorConfig(), "transposed", "x.onnx").upsample, "transposed")
        with self.assertRaisesRegex(ValueError, "x.onnx uses transposed convs, which have no nearest-upsample form"):
            with_upsample(cfg, "nearest", "x.onnx")
        import export
        with self.assertRaisesRegex(SystemExit, "--upsample goes with --init-onnx"):
            export.main(["--checkpoint", "missing.pt", "--upsample", "transposed", "--out", "unused"])

    def test_a_nearest_export_initialises_a_transposed_model_exactly(self):
        from export import export
        from train import load_onnx_weights
        cfg = GeneratorConfig(size=64, widths=(8, 12, 16, 20), audio_channels=(8, 12, 16), audio_dim=12)
        src = self._random(cfg, 6)
        grown = GeneratorConfig(**{**cfg.to_json(), "upsample": "transposed", "ref_features": 4})
        with tempfile.TemporaryDirectory() as d:
            export(src, {"meta": {}}, d, "t", "0", None, "x", "d")
            dst = LipSyncGenerator(grown).eval()
            load_onnx_weights(dst, os.path.join(d, "generator.onnx"))
            # ... and an export of the transposed model reads back as itself.
            e = os.path.join(d, "t2")
            export(dst, {"meta": {}}, e, "t", "0", None, "x", "d")
            again = LipSyncGenerator(grown).eval()
            load_onnx_weights(again, os.path.join(e, "generator.onnx"))
        inputs = example_inputs(cfg)
        with torch.no_grad():
            self.assertLess(float((src(*inputs) - dst(*inputs)).abs().max()), 1e-5)
            self.assertEqual(float((dst(*inputs) - again(*inputs)).abs().max()), 0.0)


class PasteAreaLossTest(unittest.TestCase):
    """--loss-area paste: the pixel terms count where the app pastes (blend.ts, area 'mouth'), not the far cheek."""

    def lips(self, s=128):
        from data import INNER_LIPS, OUTER_LIPS
        pts = []
        for i in range(len(OUTER_LIPS)):  # outer lips: corners at index 0 (x 44) and 10 (x 84), rows 88..100
            a = math.pi * i / 10
            pts.append([64 - 20 * math.cos(a), 94 + 6 * math.sin(a)])
        pts += [[x, y * 0.5 + 47] for x, y in pts[: len(INNER_LIPS)]]
        return torch.tensor([pts], dtype=torch.float32)

    def test_the_area_covers_mouth_philtrum_and_chin_and_not_the_far_cheek(self):
        from data import paste_area_weight
        a = paste_area_weight(self.lips(), 128)[0, 0]
        self.assertEqual(float(a[94, 64]), 1.0)   # between the lips
        self.assertEqual(float(a[124, 64]), 1.0)  # chin
        self.assertEqual(float(a[86, 64]), 1.0)   # philtrum, above the upper lip
        self.assertEqual(float(a[94, 40]), 1.0)   # cheek just beside the corner (side = 0.35 x 40 px = 14 px)
        self.assertEqual(float(a[100, 10]), 0.0)  # far cheek
        self.assertEqual(float(a[66, 64]), 0.0)   # nose, well above the area
        self.assertAlmostEqual(float(paste_area_weight(self.lips(), 128, 0.1)[0, 0, 100, 10]), 0.1, places=6)

    def test_an_error_on_the_far_cheek_costs_only_the_outside_weight(self):
        from train import losses
        target = torch.full((1, 3, 128, 128), 0.5)
        cheek, mouth = target.clone(), target.clone()
        cheek[:, :, 96:112, 4:16] = 0.9
        mouth[:, :, 96:112, 58:70] = 0.9  # the same error on the same number of pixels, on the mouth
        b = {"target": target, "weight": torch.ones(1, 1, 128, 128), "lips": self.lips()}
        w = {"mouth": 0.0, "grad": 0.0, "ssim": 0.0}
        self.assertAlmostEqual(float(losses(cheek, b, 64, w)["l1"]), float(losses(mouth, b, 64, w)["l1"]), places=6)
        from data import paste_area_weight
        b["area"] = paste_area_weight(b["lips"], 128, 0.1)
        on_cheek, on_mouth = float(losses(cheek, b, 64, w)["l1"]), float(losses(mouth, b, 64, w)["l1"])
        self.assertAlmostEqual(on_cheek * 10, on_mouth, places=5)
        w = {"mouth": 0.0, "grad": 1.0, "ssim": 0.0, "texture": 1.0}
        self.assertLess(float(losses(cheek, b, 64, w)["grad"]) * 5, float(losses(mouth, b, 64, w)["grad"]))
        self.assertLess(float(losses(cheek, b, 64, w)["texture"]) * 5, float(losses(mouth, b, 64, w)["texture"]))


class TrainingLossTest(unittest.TestCase):
    def batch(self, target):
        lips = torch.tensor([[[40.0 + i, 90.0 + (i % 5)] for i in range(40)]]).repeat(target.shape[0], 1, 1)
        return {"target": target, "weight": torch.ones(target.shape[0], 1, 128, 128), "lips": lips}

    def test_a_brightness_step_at_the_mask_line_costs_gradient_loss(self):
        from train import losses
        target = torch.full((1, 3, 128, 128), 0.5)
        smooth = target.clone()
        step = target.clone()
        step[:, :, 64:] += 0.1  # the generated half is uniformly brighter: no gradient inside it, only at row 64
        w = {"mouth": 0.0, "grad": 1.0, "ssim": 0.0}
        self.assertEqual(float(losses(smooth, self.batch(target), 64, w)["grad"]), 0.0)
        self.assertGreater(float(losses(step, self.batch(target), 64, w)["grad"]), 0.0)

    def test_texture_term_prefers_detail_to_blur_even_when_misaligned(self):
        from train import losses
        g = torch.Generator().manual_seed(0)
        target = torch.rand(1, 3, 128, 128, generator=g)
        shifted = torch.roll(target, 3, 3)  # same detail, wrong place
        blur = F.avg_pool2d(target, 5, 1, 2)
        w = {"mouth": 0.0, "grad": 0.0, "ssim": 0.0, "texture": 1.0}
        t_shift = float(losses(shifted, self.batch(target), 64, w)["texture"])
        t_blur = float(losses(blur, self.batch(target), 64, w)["texture"])
        self.assertLess(t_shift * 5, t_blur)


class AdversaryTest(unittest.TestCase):
    def test_mouth_crop_is_centred_on_the_lips(self):
        from adversarial import MOUTH_SIZE, mouth_crop
        img = torch.zeros(1, 3, 128, 128)
        img[:, :, 86:94, 56:72] = 1.0  # a bright mouth at (64, 90)
        lips = torch.tensor([[[50.0, 86.0], [78.0, 94.0]]])
        crop = mouth_crop(img, lips, 128)
        self.assertEqual(tuple(crop.shape[2:]), MOUTH_SIZE)
        h, w = MOUTH_SIZE
        self.assertGreater(float(crop[0, 0, h // 2, w // 2]), 0.9)
        self.assertLess(float(crop[0, 0, 0, 0]), 0.1)

    def test_generator_terms_switch_on_late_and_leave_the_discriminators_alone(self):
        from adversarial import AdversarialWeights, Adversary
        adv = Adversary(AdversarialWeights(gan=0.1, mouth_gan=0.1, feature_match=1.0, start=10), 128)
        target = torch.rand(2, 3, 128, 128)
        out = torch.rand(2, 3, 128, 128, requires_grad=True)
        lips = torch.tensor([[[40.0 + i, 90.0 + (i % 5)] for i in range(40)]]).repeat(2, 1, 1)
        self.assertEqual(adv.generator_terms(out, target, lips, 64, step=9), {})
        terms = adv.generator_terms(out, target, lips, 64, step=10)
        terms["adv"].backward()
        self.assertGreater(float(out.grad[:, :, 64:].abs().sum()), 0.0)
        self.assertTrue(all(p.grad is None for p in adv.parameters()), "the generator's loss must not train the discriminators")
        before = [p.detach().clone() for p in adv.parameters()]
        d = adv.discriminator_step(out, target, lips, 64)
        self.assertIn("dLower", d)
        self.assertIn("dMouth", d)
        self.assertTrue(any(not torch.equal(a, p) for a, p in zip(before, adv.parameters())))


    def test_with_the_highpass_channel_a_discriminator_learns_to_see_a_blur(self):
        """Spectral norm keeps the image-only discriminator from telling a sharp mouth from a blurred one in a few
        hundred steps (what kept every run's discriminators at chance); the Laplacian channel lets it."""
        from adversarial import PatchDiscriminator

        def textures(n, seed):
            g = torch.Generator().manual_seed(seed)
            base = torch.rand(n, 3, 32, 48, generator=g) * 0.1 + torch.rand(n, 3, 1, 1, generator=g) * 0.6 + 0.2
            return base, F.avg_pool2d(F.pad(base, (1, 1, 1, 1), mode="replicate"), 3, 1)  # real: detail; fake: its blur

        def held_out_accuracy(highpass):
            torch.manual_seed(0)
            net = PatchDiscriminator(16, 3, highpass)
            opt = torch.optim.Adam(net.parameters(), lr=2e-4, betas=(0.5, 0.999))
            real, fake = textures(64, 1)
            for _ in range(40):  # plain: still at chance (0.50); with the Laplacian: 0.85 by 30 steps, 1.0 by 60
                loss = torch.relu(1 - net(real)[0]).mean() + torch.relu(1 + net(fake)[0]).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            real, fake = textures(64, 2)
            with torch.no_grad():
                return float(((net(real)[0].mean((1, 2, 3)) > 0).float().mean() + (net(fake)[0].mean((1, 2, 3)) < 0).float().mean()) / 2)

        self.assertGreater(held_out_accuracy(30.0), 0.8)
        self.assertLess(held_out_accuracy(0.0), 0.65)


class AudioOffsetTest(unittest.TestCase):
    def test_audio_offset_reads_the_window_later_and_excluded_clips_have_no_pairs(self):
        import json
        with tempfile.TemporaryDirectory() as root:
            write_synthetic(root, clips=2, frames=30, size=64, identities=2, seed=1, invalid_rate=0.0)
            write_pairs(root, [[0, 10, 20], [1, 10, 20]])
            base = PreparedData(root)
            index_path = os.path.join(root, "index.json")
            index = json.load(open(index_path))
            index["clips"][0]["audioOffset"] = 2
            index["clips"][1]["excluded"] = True
            json.dump(index, open(index_path, "w"))
            data = PreparedData(root)
            np.testing.assert_array_equal(data.mel_window(data.clips[0], 10, 8, 8), base.mel_window(base.clips[0], 12, 8, 8))
            train, val = data.split(set())
            self.assertEqual(train[:, 0].tolist(), [0])


if __name__ == "__main__":
    unittest.main()
