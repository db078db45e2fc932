/**
 * Which Face Mesh tracks faces on a tfjs backend. On a GPU (webgpu, webgl) the refined (attention) mesh is cheap. On a
 * CPU (wasm, cpu) it is most of the live path's non-generator time, and the plain mesh costs a fifth: it cuts and
 * pastes alike on faces turned to the camera (same LMD/PSNR in `npm run eval -- --pipeline-landmarks plain`), a
 * little less steadily on turned ones, where more frames per second matter more.
 */
export function refinesLandmarksOn(backend: 'webgpu' | 'webgl' | 'wasm' | 'cpu'): boolean {
  return backend === 'webgpu' || backend === 'webgl';
}
