import { useEffect, useRef, useState } from 'react';

/**
 * The lip-synced output. Until its first frame is on screen the camera shows through underneath with a
 * "warming up" badge, so starting never shows a black box.
 */
export function OutputView({ output, camera }: { output?: MediaStream; camera?: MediaStream }) {
  const outRef = useRef<HTMLVideoElement>(null);
  const camRef = useRef<HTMLVideoElement>(null);
  const [hasFrame, setHasFrame] = useState(false);
  useEffect(() => {
    const v = outRef.current;
    if (!v) return;
    v.srcObject = output ?? null;
    setHasFrame(false);
    if (!output) return;
    // readyState reaches HAVE_CURRENT_DATA when a frame of the stream can be painted.
    const check = () => setHasFrame(v.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA);
    v.addEventListener('loadeddata', check);
    v.addEventListener('resize', check);
    check();
    return () => {
      v.removeEventListener('loadeddata', check);
      v.removeEventListener('resize', check);
    };
  }, [output]);
  const warming = camera !== undefined && !hasFrame;
  useEffect(() => {
    if (camRef.current) camRef.current.srcObject = warming ? camera : null;
  }, [camera, warming]);
  return (
    <figure className="view output" data-testid="output-frame" data-warming={warming}>
      <div className="stack">
        <video ref={outRef} data-testid="output-view" className={hasFrame ? 'over' : 'over waiting'} autoPlay playsInline muted />
        {warming && <video ref={camRef} data-testid="output-camera" className="under" autoPlay playsInline muted />}
        {warming && (
          <span className="badge" data-testid="warming-up" role="status">
            Warming up — showing the camera until the first lip-synced frame
          </span>
        )}
      </div>
      <figcaption>Lip-synced output</figcaption>
    </figure>
  );
}
