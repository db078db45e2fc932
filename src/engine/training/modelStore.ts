/**
 * Fine-tuned generators kept in the browser's IndexedDB: metadata and ONNX bytes in separate stores, so
 * listing never reads megabytes of weights. Survives reloads; nothing leaves the machine.
 */
import { CodedError } from '../codedError.ts';
export interface StoredModelMeta {
  id: string;
  name: string;
  /** ISO date of saving. */
  date: string;
  steps: number;
  /** Validation loss at the end of training (NaN when unknown). */
  valLoss: number;
  /** Length of the clip it was trained on, in seconds. */
  clipSeconds: number;
  byteLength: number;
  /** The generator manifest (same contract as the base model). */
  manifest: unknown;
}

export interface StoredModel extends StoredModelMeta {
  bytes: Uint8Array;
}

export type ModelStoreErrorCode = 'quota-exceeded' | 'unavailable' | 'not-found' | 'failed';

export class ModelStoreError extends CodedError<ModelStoreErrorCode> {
  override readonly name = 'ModelStoreError';
}

const DB_NAME = 'lipsync-models';
const META = 'meta';
const BYTES = 'bytes';

function wrapError(e: unknown, what: string): ModelStoreError {
  if (e instanceof ModelStoreError) return e;
  const name = (e as DOMException | null)?.name;
  if (name === 'QuotaExceededError') {
    return new ModelStoreError(
      'quota-exceeded',
      `Not enough browser storage to ${what}: delete saved models you no longer need (or free disk space) and try again.`,
    );
  }
  return new ModelStoreError('failed', `Could not ${what}: ${(e as Error)?.message ?? String(e)}`);
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException('Transaction aborted', 'AbortError'));
  });
}

export class ModelStore {
  private db?: Promise<IDBDatabase>;

  constructor(private readonly idb: IDBFactory | undefined = globalThis.indexedDB) {}

  private open(): Promise<IDBDatabase> {
    if (!this.idb)
      return Promise.reject(new ModelStoreError('unavailable', 'This browser has no IndexedDB (private mode?): fine-tuned models cannot be saved.'));
    this.db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const r = this.idb!.open(DB_NAME, 1);
      r.onupgradeneeded = () => {
        r.result.createObjectStore(META, { keyPath: 'id' });
        r.result.createObjectStore(BYTES);
      };
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(new ModelStoreError('unavailable', `Could not open the model storage: ${r.error?.message}`));
    });
    return this.db;
  }

  /** Saves a model; throws ModelStoreError('quota-exceeded') when the browser refuses the space. */
  async save(model: Omit<StoredModel, 'id' | 'byteLength'>): Promise<StoredModelMeta> {
    const meta: StoredModelMeta = {
      id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      name: model.name,
      date: model.date,
      steps: model.steps,
      valLoss: model.valLoss,
      clipSeconds: model.clipSeconds,
      byteLength: model.bytes.byteLength,
      manifest: model.manifest,
    };
    try {
      const db = await this.open();
      const tx = db.transaction([META, BYTES], 'readwrite');
      tx.objectStore(META).put(meta);
      tx.objectStore(BYTES).put(model.bytes.slice().buffer, meta.id);
      await done(tx);
      return meta;
    } catch (e) {
      throw wrapError(e, `save "${model.name}" (${(model.bytes.byteLength / 1e6).toFixed(1)} MB)`);
    }
  }

  /** All saved models, newest first (metadata only). */
  async list(): Promise<StoredModelMeta[]> {
    try {
      const db = await this.open();
      const all = await request(db.transaction(META).objectStore(META).getAll() as IDBRequest<StoredModelMeta[]>);
      return all.sort((a, b) => b.date.localeCompare(a.date));
    } catch (e) {
      throw wrapError(e, 'list saved models');
    }
  }

  async get(id: string): Promise<StoredModel> {
    try {
      const db = await this.open();
      const tx = db.transaction([META, BYTES]);
      const [meta, bytes] = await Promise.all([
        request(tx.objectStore(META).get(id) as IDBRequest<StoredModelMeta | undefined>),
        request(tx.objectStore(BYTES).get(id) as IDBRequest<ArrayBuffer | undefined>),
      ]);
      if (!meta || !bytes) throw new ModelStoreError('not-found', 'That model is no longer saved (deleted in another tab?).');
      return { ...meta, bytes: new Uint8Array(bytes) };
    } catch (e) {
      throw wrapError(e, 'read the saved model');
    }
  }

  async delete(id: string): Promise<void> {
    try {
      const db = await this.open();
      const tx = db.transaction([META, BYTES], 'readwrite');
      tx.objectStore(META).delete(id);
      tx.objectStore(BYTES).delete(id);
      await done(tx);
    } catch (e) {
      throw wrapError(e, 'delete the model');
    }
  }
}
