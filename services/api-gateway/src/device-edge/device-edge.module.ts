import { Module, type DynamicModule } from '@nestjs/common';
import { DEVICE_EDGE_SETTINGS, DeviceEdge, type DeviceEdgeSettings } from './device-edge.provider';

/** Wiring only; `main.ts` attaches `DeviceEdge` to the HTTP server. */
@Module({})
export class DeviceEdgeModule {
  static forRoot(settings: DeviceEdgeSettings): DynamicModule {
    return {
      module: DeviceEdgeModule,
      providers: [{ provide: DEVICE_EDGE_SETTINGS, useValue: settings }, DeviceEdge],
      exports: [DeviceEdge],
    };
  }
}
