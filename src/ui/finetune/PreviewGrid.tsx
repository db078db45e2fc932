import { useEffect, useRef } from 'react';

function Bitmap({ bitmap, label }: { bitmap: ImageBitmap; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c) return;
    c.width = bitmap.width;
    c.height = bitmap.height;
    c.getContext('2d')?.drawImage(bitmap, 0, 0);
  }, [bitmap]);
  return (
    <figure>
      <canvas ref={ref} data-testid={`preview-${label}`} />
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** Held-out target | its reference (another frame, > minOffset away) | the model's prediction. */
export function PreviewGrid({ preview }: { preview?: { step: number; target: ImageBitmap; reference: ImageBitmap; prediction: ImageBitmap } }) {
  if (!preview) return null;
  return (
    <div className="preview-grid" data-testid="preview-grid" data-step={preview.step} style={{ display: 'flex', gap: 8 }}>
      <Bitmap bitmap={preview.target} label="target" />
      <Bitmap bitmap={preview.reference} label="reference" />
      <Bitmap bitmap={preview.prediction} label="prediction" />
    </div>
  );
}
