import { Injectable, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { AccountDirectory } from '@reach/accounts';
import { PhonePresenceDirectory, PlatformModule, type PlatformConnections } from '@reach/infrastructure';
import { HealthModule } from '@reach/service-runtime';
import { ApiDocsModule } from './api-docs/api-docs.module';
import { GATEWAY_CONFIG, type GatewayConfig } from './config';
import { DeviceEdgeModule } from './device-edge/device-edge.module';
import { AcceptMessageHandler } from './messages/accept-message.handler';
import { AcceptedMessagesMetric } from './messages/accepted-messages.metric';
import { ChangeMessageHandler } from './messages/change-message.handler';
import { MessageReader } from './messages/message-reader';
import { PhoneAvailability } from './messages/phone-availability';
import { CreateMessageHttpController } from './reach/create-message/create-message.http.controller';
import { DeleteMessageHttpController } from './reach/delete-message/delete-message.http.controller';
import { FetchMessageHttpController } from './reach/fetch-message/fetch-message.http.controller';
import { ListMessagesReachHttpController } from './reach/list-messages/list-messages.http.controller';
import { ReachAuthGuard } from './reach/reach-auth.guard';
import { ReachErrorFilter } from './reach/reach-error.filter';
import { UnscheduleMessageHttpController } from './reach/unschedule-message/unschedule-message.http.controller';
import { UpdateMessageHttpController } from './reach/update-message/update-message.http.controller';
import { CreateWebhookHttpController } from './reachcell/create-webhook/create-webhook.http.controller';
import { DeleteWebhookHttpController } from './reachcell/delete-webhook/delete-webhook.http.controller';
import { GetDeliveryHttpController } from './reachcell/get-delivery/get-delivery.http.controller';
import { GetMessageHttpController } from './reachcell/get-message/get-message.http.controller';
import { ListDeliveriesHttpController } from './reachcell/list-deliveries/list-deliveries.http.controller';
import { ListMessagesHttpController } from './reachcell/list-messages/list-messages.http.controller';
import { ListWebhooksHttpController } from './reachcell/list-webhooks/list-webhooks.http.controller';
import { ReachCellAuthGuard } from './reachcell/reachcell-auth.guard';
import { RedeliverDeliveryHttpController } from './reachcell/redeliver-delivery/redeliver-delivery.http.controller';
import { SendMessageHttpController } from './reachcell/send-message/send-message.http.controller';

/** The send path asks the presence directory whether the sending phone can take a command now. */
@Injectable()
export class PresencePhoneAvailability extends PhoneAvailability {
  constructor(private readonly presence: PhonePresenceDirectory) {
    super();
  }

  isOnline(e164: string): boolean {
    return this.presence.isOnline(e164);
  }
}

@Module({})
export class GatewayModule {
  static forRoot(platform: PlatformConnections, logger: Logger, config: GatewayConfig): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        HealthModule.forRoot(),
        PlatformModule.forRoot(platform, logger),
        ApiDocsModule,
        DeviceEdgeModule.forRoot({ maxConnections: config.DEVICE_EDGE_MAX_CONNECTIONS, streamReplicas: config.NATS_STREAM_REPLICAS }),
      ],
      controllers: [
        SendMessageHttpController,
        GetMessageHttpController,
        ListMessagesHttpController,
        CreateWebhookHttpController,
        ListWebhooksHttpController,
        DeleteWebhookHttpController,
        ListDeliveriesHttpController,
        GetDeliveryHttpController,
        RedeliverDeliveryHttpController,
        CreateMessageHttpController,
        FetchMessageHttpController,
        ListMessagesReachHttpController,
        UpdateMessageHttpController,
        UnscheduleMessageHttpController,
        DeleteMessageHttpController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: AccountDirectory, useFactory: () => AccountDirectory.fromDatabase(platform.db) },
        PhonePresenceDirectory,
        { provide: PhoneAvailability, useClass: PresencePhoneAvailability },
        ReachCellAuthGuard,
        ReachAuthGuard,
        ReachErrorFilter,
        AcceptMessageHandler,
        AcceptedMessagesMetric,
        ChangeMessageHandler,
        MessageReader,
      ],
    };
  }
}
