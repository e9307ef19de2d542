import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The checked-in OpenAPI document (services/api-gateway/openapi.json). Two levels up from this
 * file both in src/api-docs (tests) and in dist/api-docs (the running gateway).
 */
export const OPENAPI_DOCUMENT_PATH = path.resolve(__dirname, '../../openapi.json');

/** Where the swagger-ui-dist package keeps its static files. */
export function swaggerUiDistDir(): string {
  return path.dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** The swagger-ui-dist files the page loads, with their content types. Nothing else of the package is served. */
export const SWAGGER_UI_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

/** Ours, in place of the package's own (which points at the petstore). */
export const SWAGGER_INITIALIZER = 'swagger-initializer.js';

export const DOCS_PATH = '/docs';
export const OPENAPI_DOCUMENT_URL = '/openapi.json';

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
}

/**
 * What `GET /openapi.json` and `GET /docs…` serve, read once at start: a missing or broken
 * document, or a missing swagger-ui-dist file, fails the boot instead of the first request.
 * The document is served byte for byte as checked in.
 */
export class ApiDocsContent {
  private constructor(
    readonly openApiDocument: Buffer,
    readonly page: string,
    private readonly files: ReadonlyMap<string, StaticFile>,
  ) {}

  static load(documentPath: string = OPENAPI_DOCUMENT_PATH, swaggerUiDir: string = swaggerUiDistDir()): ApiDocsContent {
    const document = readFileSync(documentPath);
    const parsed = JSON.parse(document.toString('utf8')) as { openapi?: unknown };
    if (typeof parsed.openapi !== 'string' || !parsed.openapi.startsWith('3.1.')) {
      throw new Error(`${documentPath} is not an OpenAPI 3.1 document`);
    }
    const files = new Map<string, StaticFile>(
      Object.entries(SWAGGER_UI_FILES).map(([name, contentType]) => [name, { body: readFileSync(path.join(swaggerUiDir, name)), contentType }]),
    );
    files.set(SWAGGER_INITIALIZER, { body: Buffer.from(swaggerInitializer(OPENAPI_DOCUMENT_URL), 'utf8'), contentType: 'text/javascript; charset=utf-8' });
    return new ApiDocsContent(document, swaggerUiPage(), files);
  }

  /** A file under `/docs/`, or undefined for any other name (so no path ever reaches the file system). */
  file(name: string): StaticFile | undefined {
    return this.files.get(name);
  }

  get fileNames(): readonly string[] {
    return [...this.files.keys()];
  }
}

/** Swagger UI's standalone page, with absolute asset URLs so `/docs` works without a trailing slash. */
export function swaggerUiPage(): string {
  const asset = (name: string) => `${DOCS_PATH}/${name}`;
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Reach API reference</title>
    <link rel="stylesheet" type="text/css" href="${asset('swagger-ui.css')}">
    <link rel="stylesheet" type="text/css" href="${asset('index.css')}">
    <link rel="icon" type="image/png" href="${asset('favicon-32x32.png')}" sizes="32x32">
    <link rel="icon" type="image/png" href="${asset('favicon-16x16.png')}" sizes="16x16">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="${asset('swagger-ui-bundle.js')}" charset="UTF-8"></script>
    <script src="${asset('swagger-ui-standalone-preset.js')}" charset="UTF-8"></script>
    <script src="${asset(SWAGGER_INITIALIZER)}" charset="UTF-8"></script>
  </body>
</html>
`;
}

/** Points Swagger UI at our document; `validatorUrl: null` keeps it from calling validator.swagger.io. */
export function swaggerInitializer(documentUrl: string): string {
  return `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(documentUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;
}
