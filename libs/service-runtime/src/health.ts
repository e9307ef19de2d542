import { Controller, Get, Header, HttpCode, HttpStatus, Injectable, Module, Res, type DynamicModule } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves when the dependency is usable; rejects (or throws) with the reason otherwise. */
  check(): Promise<void>;
}

/** Components register what readiness depends on; /ready reports each by name. */
@Injectable()
export class Readiness {
  private readonly checks: ReadinessCheck[] = [];
  private draining = false;

  register(check: ReadinessCheck): void {
    this.checks.push(check);
  }

  /** Set at shutdown so load balancers stop sending work before the process drains. */
  markDraining(): void {
    this.draining = true;
  }

  async report(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    if (this.draining) checks['shutdown'] = 'draining';
    await Promise.all(
      this.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), 2000);
          checks[c.name] = 'ok';
        } catch (error) {
          checks[c.name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    return { ready: Object.values(checks).every((v) => v === 'ok'), checks };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The process's Prometheus registry (default Node metrics plus what components add). */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}

@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly metrics: Metrics,
  ) {}

  /** Liveness: the process is up and its event loop answers. */
  @Get('health')
  @HttpCode(200)
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /**
   * Readiness: 200 with every check `ok`, else 503 with what failed. The 503 is set on the reply,
   * not thrown, so no API error filter can turn the per-check report into a dialect's error body.
   */
  @Get('ready')
  async ready(
    @Res({ passthrough: true }) reply: { status(code: number): unknown },
  ): Promise<{ status: 'ready' | 'not_ready'; checks: Record<string, string> }> {
    const report = await this.readiness.report();
    if (!report.ready) {
      reply.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { status: 'not_ready', checks: report.checks };
    }
    return { status: 'ready', checks: report.checks };
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

@Module({})
export class HealthModule {
  static forRoot(): DynamicModule {
    return {
      module: HealthModule,
      global: true,
      controllers: [HealthController],
      providers: [Readiness, Metrics],
      exports: [Readiness, Metrics],
    };
  }
}
