import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RequestMethod, type DynamicModule, type Type } from '@nestjs/common';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { channelKinds, messageStatuses, reachCellStatusOf, reachStatusOf } from '@reach/contracts';
import type { PlatformConnections } from '@reach/infrastructure';
import {
  REACH_MAX_BULK_IDENTIFIER_LENGTH,
  REACH_MAX_PAGE_SIZE,
  REACH_MAX_STATUS_CALLBACK_LENGTH,
  REACH_MAX_VALIDITY_PERIOD_SECONDS,
  REACHCELL_MAX_BODY_CHARACTERS,
  REACHCELL_MAX_PER_PAGE,
  reachErrorCodes,
} from '@reach/message-domain';
import { MAX_WEBHOOKS_PER_ACCOUNT, reachCellWebhookEvents } from '@reach/webhooks';
import type { GatewayConfig } from '../config';
import { GatewayModule } from '../gateway.module';
import { idempotencyReachCodes } from '../limits/limits.errors';
import { REACH_API_VERSION } from '../reach/reach-message.presenter';
import { WEBHOOK_LABEL_MAX_LENGTH, WEBHOOK_URL_MAX_LENGTH } from '../reachcell/create-webhook/create-webhook.request';
import { deliveryStates } from '../reachcell/list-deliveries/list-deliveries.query';
import { ApiDocsContent, OPENAPI_DOCUMENT_PATH } from './api-docs.content';

/**
 * services/api-gateway/openapi.json held to the OpenAPI 3.1 schema and to the code it describes.
 *
 * ./oas-3.1.schema.json is the schema the OpenAPI Initiative publishes for OpenAPI 3.1 documents
 * (https://spec.openapis.org/oas/3.1/schema/2025-11-23, Apache-2.0), vendored because the tests
 * run without a network. It checks the document's shape and leaves every Schema Object to its
 * dialect, so each schema is also compiled here as JSON Schema 2020-12 by Ajv in strict mode:
 * the same compilation the e2e suite validates real answers with.
 */

interface Operation {
  operationId?: string;
  parameters?: Array<Parameter | Reference>;
  responses: Record<string, unknown>;
}
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface Reference {
  $ref: string;
}
type PathItem = Partial<Record<HttpMethod, Operation>> & { parameters?: Array<Parameter | Reference> };
type HttpMethod = (typeof HTTP_METHODS)[number];
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, PathItem>;
  webhooks: Record<string, PathItem>;
  components: { schemas: Record<string, Record<string, unknown>>; [section: string]: Record<string, unknown> };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const document = JSON.parse(readFileSync(OPENAPI_DOCUMENT_PATH, 'utf8')) as OpenApiDocument;
const officialSchema = JSON.parse(readFileSync(path.join(__dirname, 'oas-3.1.schema.json'), 'utf8')) as Record<string, unknown>;

/** Where the components' schemas live for Ajv: `#/components/schemas/X` becomes `${SCHEMAS_ID}#/$defs/X`. */
const SCHEMAS_ID = 'https://reach.invalid/openapi/components/schemas';

function asAjvSchema<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\/schemas\//g, `"${SCHEMAS_ID}#/$defs/`)) as T;
}

function strictAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: SCHEMAS_ID, $defs: asAjvSchema(document.components.schemas) });
  return ajv;
}

function resolvePointer(pointer: string): unknown {
  if (!pointer.startsWith('#/')) throw new Error(`only local references are used, not ${pointer}`);
  return pointer
    .slice(2)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, token) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[token] : undefined), document);
}

function deref<T>(value: T | Reference): T {
  return value !== null && typeof value === 'object' && '$ref' in value ? (resolvePointer(value.$ref) as T) : (value as T);
}

/** Every value under `key` in the document, with its JSON pointer. */
function everything(key: string, node: unknown = document, at = '#'): Array<{ at: string; value: unknown }> {
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node as Record<string, unknown>).flatMap(([name, value]) => {
    const here = `${at}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    return name === key ? [{ at: here, value }] : everything(key, value, here);
  });
}

function operations(items: Record<string, PathItem>): Array<{ path: string; method: HttpMethod; operation: Operation; item: PathItem }> {
  return Object.entries(items).flatMap(([p, item]) =>
    HTTP_METHODS.filter((m) => item[m] !== undefined).map((method) => ({ path: p, method, operation: item[method]!, item })),
  );
}

const enumOf = (schemaName: string) => document.components.schemas[schemaName]?.['enum'];

describe('openapi.json is an OpenAPI 3.1 document', () => {
  it('validates against the official OpenAPI 3.1 schema', () => {
    // The official schema is checked leniently (strict: false): it uses keywords and formats
    // (`media-range`) of its own, which strict mode is for catching in ours.
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('media-range', /^(?:\*|[\w!#$&^.+-]+)\/(?:\*|[\w!#$&^.+-]+)(?:\s*;.*)?$/);
    const validate = ajv.compile(officialSchema);
    expect(validate(document) ? [] : validate.errors).toEqual([]);
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
  });

  it('compiles every component schema with Ajv 2020 in strict mode', () => {
    const ajv = strictAjv();
    for (const name of Object.keys(document.components.schemas)) {
      expect(() => ajv.compile({ $ref: `${SCHEMAS_ID}#/$defs/${name}` })).not.toThrow();
    }
  });

  it('compiles every other schema (parameters, headers, bodies, responses, webhooks) the same way', () => {
    const ajv = strictAjv();
    const inline = everything('schema').filter(({ at }) => !at.startsWith('#/components/schemas/'));
    expect(inline.length).toBeGreaterThan(100);
    for (const { at, value } of inline) {
      expect({ at, error: compileError(ajv, value) }).toEqual({ at, error: null });
    }
  });

  it('resolves every $ref inside the document', () => {
    const refs = everything('$ref');
    expect(refs.length).toBeGreaterThan(100);
    for (const { at, value } of refs) {
      expect({ at, ref: value, resolves: typeof value === 'string' && resolvePointer(value) !== undefined }).toEqual({ at, ref: value, resolves: true });
    }
  });

  it('declares every path parameter of every operation, and no other', () => {
    for (const { path: template, method, operation, item } of operations(document.paths)) {
      const inTemplate = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
        .map((p) => deref<Parameter>(p))
        .filter((p) => p.in === 'path');
      expect({ operation: `${method} ${template}`, params: declared.map((p) => p.name).sort() }).toEqual({ operation: `${method} ${template}`, params: inTemplate });
      for (const p of declared) expect(p.required).toBe(true);
    }
  });

  it('gives every operation (webhooks included) a unique operationId', () => {
    const ids = [...operations(document.paths), ...operations(document.webhooks)].map(({ path: p, method, operation }) => operation.operationId ?? `missing on ${method} ${p}`);
    expect(ids.filter((id) => id.startsWith('missing on'))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents only status codes, each with a description', () => {
    for (const { operation } of [...operations(document.paths), ...operations(document.webhooks)]) {
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(status).toMatch(/^(?:[1-5]\d\d|[1-5]XX|default)$/);
        expect(deref<{ description?: string }>(response as Reference).description).toEqual(expect.any(String));
      }
    }
  });
});

describe('openapi.json describes the routes the gateway serves', () => {
  it('has one operation per controller route of the gateway module, and no other', () => {
    const routes = gatewayRoutes();
    expect(routes).toContain('post /v1/sms/send');
    expect(routes).toContain('get /openapi.json');
    const documented = operations(document.paths)
      .map(({ path: p, method }) => `${method} ${p}`)
      .sort();
    expect(documented).toEqual(routes);
  });

  it('lists exactly the files /docs serves', () => {
    const parameter = document.paths['/docs/{file}']?.get?.parameters?.map((p) => deref<Parameter>(p)).find((p) => p.name === 'file');
    expect([...(parameter?.schema?.['enum'] as string[])].sort()).toEqual([...ApiDocsContent.load().fileNames].sort());
  });
});

describe('openapi.json agrees with the code', () => {
  it('names the status words each dialect shows', () => {
    expect([...(enumOf('ReachCellMessageStatus') as string[])].sort()).toEqual([...new Set(messageStatuses.map(reachCellStatusOf))].sort());
    expect([...(enumOf('ReachStatus') as string[])].sort()).toEqual([...new Set(messageStatuses.map(reachStatusOf))].sort());
  });

  it('names the webhook event types, one outbound webhook each, plus the Reach status callback', () => {
    expect(enumOf('WebhookEventType')).toEqual([...reachCellWebhookEvents]);
    expect(Object.keys(document.webhooks).sort()).toEqual(['reachStatusCallback', ...reachCellWebhookEvents].sort());
  });

  it('names the delivery states and channels', () => {
    expect(enumOf('DeliveryState')).toEqual([...deliveryStates]);
    const assigned = document.components.schemas['ReachCellNumberAssignedEvent'] as { properties: { data: { properties: { channel: { enum: string[] } } } } };
    expect(assigned.properties.data.properties.channel.enum).toEqual([...channelKinds]);
  });

  it('lists every Reach errorCode the gateway answers with, and no other', () => {
    const reachError = document.components.schemas['ReachError'] as { properties: { errorCode: { enum: number[] } } };
    const answered = [
      ...Object.values(reachErrorCodes)
        .filter((entry) => entry !== reachErrorCodes.costAboveMaxPrice) // only ever on a failed message, never an HTTP answer
        .map((entry) => entry.code),
      ...Object.values(idempotencyReachCodes),
    ];
    expect([...reachError.properties.errorCode.enum].sort()).toEqual(answered.sort());
  });

  it('states the limits the validators apply', () => {
    const schemas = document.components.schemas as Record<string, { properties: Record<string, Record<string, unknown>> }>;
    const perPage = deref<Parameter>({ $ref: '#/components/parameters/ReachCellPerPage' });
    expect(perPage.schema?.['maximum']).toBe(REACHCELL_MAX_PER_PAGE);
    const pageSize = document.paths['/rest/messaging/v1/list']?.get?.parameters?.map((p) => deref<Parameter>(p)).find((p) => p.name === 'pageSize');
    expect(pageSize?.schema?.['maximum']).toBe(REACH_MAX_PAGE_SIZE);
    expect(schemas['ReachCellSendRequest']?.properties['body']?.['maxLength']).toBe(REACHCELL_MAX_BODY_CHARACTERS);
    expect(schemas['ReachCellCreateWebhookRequest']?.properties['url']?.['maxLength']).toBe(WEBHOOK_URL_MAX_LENGTH);
    expect(schemas['ReachCellCreateWebhookRequest']?.properties['label']?.['maxLength']).toBe(WEBHOOK_LABEL_MAX_LENGTH);
    expect(schemas['ReachCreateParams']?.properties['validityPeriod']?.['maximum']).toBe(REACH_MAX_VALIDITY_PERIOD_SECONDS);
    expect(schemas['ReachCreateParams']?.properties['bulkIdentifier']?.['maxLength']).toBe(REACH_MAX_BULK_IDENTIFIER_LENGTH);
    expect(schemas['ReachCreateParams']?.properties['statusCallback']?.['maxLength']).toBe(REACH_MAX_STATUS_CALLBACK_LENGTH);
    expect(schemas['ReachMessageItem']?.properties['apiVersion']?.['const']).toBe(REACH_API_VERSION);
    expect(JSON.stringify(document.components['responses']?.['ReachCellWebhookUnprocessable'])).toContain(`already has ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks`);
  });
});

function compileError(ajv: Ajv2020, schema: unknown): string | null {
  try {
    ajv.compile(asAjvSchema(schema as object));
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * `method /path/{param}` of every route the gateway module registers: its controllers and those of
 * the modules it imports, read from Nest's decorator metadata exactly as the router joins them.
 */
function gatewayRoutes(): string[] {
  const module = GatewayModule.forRoot({} as PlatformConnections, {} as Logger, {} as GatewayConfig);
  return controllersOf(module)
    .flatMap((controller) => routesOf(controller))
    .sort();
}

function controllersOf(module: Type | DynamicModule): Type[] {
  const dynamic = 'module' in module ? module : null;
  const type = dynamic ? dynamic.module : (module as Type);
  const controllers: Type[] = [...(Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, type) ?? []), ...(dynamic?.controllers ?? [])];
  const imports: Array<Type | DynamicModule> = [...(Reflect.getMetadata(MODULE_METADATA.IMPORTS, type) ?? []), ...(dynamic?.imports ?? [])];
  return [...controllers, ...imports.flatMap((imported) => controllersOf(imported))];
}

function routesOf(controller: Type): string[] {
  const prefixes = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined].flat();
  const prototype = controller.prototype as Record<string, unknown>;
  return Object.getOwnPropertyNames(prototype).flatMap((name) => {
    const handler = prototype[name];
    if (name === 'constructor' || typeof handler !== 'function') return [];
    const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
    const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
    if (paths === undefined || method === undefined) return [];
    return prefixes.flatMap((prefix) =>
      [paths].flat().map((p) => {
        const joined = `/${[prefix, p].filter((part): part is string => part !== undefined).join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
        return `${RequestMethod[method].toLowerCase()} ${joined.replace(/:(\w+)/g, '{$1}')}`;
      }),
    );
  });
}
