import type { Kysely, Transaction } from 'kysely';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { AdvisoryLease, type Database } from '@reach/database';
import type { AllSubscription, EventStore, LogPosition, RecordedEvent } from '@reach/event-store';
import { readCheckpoint, saveCheckpoint } from './checkpoints.repository';

/** Folds one batch inside the checkpoint's transaction; what it returns reaches `onCommitted` once that commits. */
export type ProjectBatch<R = unknown> = (trx: Transaction<Database>, batch: readonly RecordedEvent[]) => Promise<R>;

export interface ProjectionRunnerOptions<R = unknown> {
  readonly name: string;
  readonly store: EventStore;
  readonly db: Kysely<Database>;
  /** Pool used for the lease: one connection holds an advisory lock while this runner is active. */
  readonly pool: Pool;
  readonly project: ProjectBatch<R>;
  readonly logger: Logger;
  readonly maxBatch?: number;
  /**
   * Called after each committed batch with the new checkpoint and what `project` returned
   * (metrics, tests): never for a batch that rolled back, so nothing is reported twice.
   */
  onCommitted?(position: LogPosition, count: number, result: R): void;
}

/**
 * Runs one projection: only the replica holding its advisory lock works (lease), and every batch
 * commits the read-model rows together with the checkpoint. After any failure it resumes from the
 * last committed checkpoint.
 */
export class ProjectionRunner<R = unknown> {
  private stopped = false;
  private subscription: AllSubscription | null = null;
  private loop: Promise<void> | null = null;
  private readonly lease: AdvisoryLease;
  private lastPosition: LogPosition | null = null;
  /** Failures since the last committed batch: the back-off grows only with consecutive failures. */
  private failures = 0;
  private wakeFromSleep: (() => void) | null = null;

  constructor(private readonly options: ProjectionRunnerOptions<R>) {
    this.lease = new AdvisoryLease(options.pool, `projection:${options.name}`);
  }

  start(): void {
    this.loop ??= this.run();
  }

  get position(): LogPosition | null {
    return this.lastPosition;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeFromSleep?.();
    await this.subscription?.close();
    await this.loop;
    this.loop = null;
  }

  private async run(): Promise<void> {
    const { logger, name } = this.options;
    while (!this.stopped) {
      try {
        if (!(await this.acquireLease())) {
          await this.sleep(1000);
          continue;
        }
        await this.consume();
      } catch (error) {
        this.failures += 1;
        const failures = this.failures;
        logger.error({ err: error, projection: name, failures }, 'projection failed; resuming from the last checkpoint');
        await this.releaseLease();
        await this.sleep(Math.min(200 * 2 ** failures, 10_000));
      }
    }
    await this.releaseLease();
  }

  private async consume(): Promise<void> {
    const { db, store, name, project, maxBatch } = this.options;
    const after = await readCheckpoint(db, name);
    this.lastPosition = after;
    this.subscription = store.subscribeToAll({ after, maxBatch: maxBatch ?? 500 });
    for await (const batch of this.subscription) {
      if (batch.length === 0) continue;
      if (!this.lease.held) throw new Error('projection lease lost');
      const last = batch[batch.length - 1]!.position;
      const result = await db.transaction().execute(async (trx) => {
        const projected = await project(trx, batch);
        await saveCheckpoint(trx, name, last);
        return projected;
      });
      this.lastPosition = last;
      this.failures = 0;
      this.options.onCommitted?.(last, batch.length, result);
      if (this.stopped) break;
    }
  }

  /** A pause that stop() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeFromSleep = done;
    });
  }

  private async acquireLease(): Promise<boolean> {
    if (this.lease.held) return true;
    const acquired = await this.lease.tryAcquire();
    if (acquired) this.options.logger.info({ projection: this.options.name }, 'projection lease acquired');
    return acquired;
  }

  private async releaseLease(): Promise<void> {
    await this.lease.release();
  }
}


