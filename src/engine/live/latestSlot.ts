/**
 * Back-pressure for live video: at most one frame waits. A newer frame replaces the waiting
 * one, which is released through `onDrop` (VideoFrames hold GPU/decoder memory) and counted.
 */
export class LatestSlot<T> {
  private item: T | undefined;
  private droppedCount = 0;

  constructor(private readonly onDrop: (item: T) => void = () => {}) {}

  /** Puts `item` in the slot; returns the item it displaced, already released, or undefined. */
  offer(item: T): void {
    if (this.item !== undefined) {
      this.droppedCount++;
      this.onDrop(this.item);
    }
    this.item = item;
  }

  take(): T | undefined {
    const item = this.item;
    this.item = undefined;
    return item;
  }

  get pending(): boolean {
    return this.item !== undefined;
  }

  /** Frames replaced before anyone took them. */
  get dropped(): number {
    return this.droppedCount;
  }

  clear(): void {
    if (this.item !== undefined) this.onDrop(this.item);
    this.item = undefined;
  }
}
