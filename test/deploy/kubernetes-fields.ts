import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Unknown-field check for Kubernetes objects, like `kubectl apply --validate=strict` but without
 * a cluster. kubernetes-models' validators check types and required fields but let unknown keys
 * through, so a misspelt `readinesProbe` would pass them; the models' type declarations list
 * every field, and this walks an object along them.
 */
interface InterfaceShape {
  /** Field name → its declared type, e.g. `Array<IIoK8sApiCoreV1Container>`. */
  readonly fields: ReadonlyMap<string, string>;
  /** Imported interface name → the declaration file that defines it. */
  readonly imports: ReadonlyMap<string, string>;
}

const shapes = new Map<string, InterfaceShape | null>();

/** The declaration file of a kubernetes-models class, e.g. `apps/v1/Deployment`. */
export function modelDeclaration(model: string): string {
  return require.resolve(`kubernetes-models/${model}`).replace(/\.js$/, '.d.ts');
}

/** Paths (`spec.template.spec.containers[0].readinesProbe`) of every field the model does not declare. */
export function unknownFields(value: unknown, declarationFile: string, path = ''): string[] {
  if (!isPlainObject(value)) return [];
  const shape = shapeOf(declarationFile);
  if (shape === null) return [];
  const unknown: string[] = [];
  for (const [key, inner] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const type = shape.fields.get(key);
    if (type === undefined) {
      unknown.push(at);
      continue;
    }
    const array = /^Array<(\w+)>$/.exec(type);
    const map = /^\{\s*\[key: string\]: (\w+);\s*\}$/.exec(type);
    const target = array?.[1] ?? map?.[1] ?? type;
    const file = shape.imports.get(target);
    if (file === undefined) continue;
    if (array && Array.isArray(inner)) inner.forEach((item, index) => unknown.push(...unknownFields(item, file, `${at}[${index}]`)));
    else if (map && isPlainObject(inner)) for (const [name, item] of Object.entries(inner)) unknown.push(...unknownFields(item, file, `${at}.${name}`));
    else if (!array && !map) unknown.push(...unknownFields(inner, file, at));
  }
  return unknown;
}

/** Reads the first `export interface` of a declaration file; null for aliases (`IntOrString`, `Quantity`). */
function shapeOf(file: string): InterfaceShape | null {
  const cached = shapes.get(file);
  if (cached !== undefined) return cached;
  const text = readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const [, names, from] of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    if (names === undefined || from === undefined) continue;
    const resolved = from.startsWith('.') ? join(dirname(file), `${from}.d.ts`) : require.resolve(from, { paths: [dirname(file)] }).replace(/\.js$/, '.d.ts');
    for (const name of names.split(',')) imports.set(name.trim(), resolved);
  }
  const body = /^export interface \w+(?: extends ([\w, ]+))? \{\n([\s\S]*?)\n\}$/m.exec(text);
  if (body === null) {
    shapes.set(file, null);
    return null;
  }
  const fields = new Map<string, string>();
  if (body[1]?.includes('TypeMeta')) {
    fields.set('apiVersion', 'string');
    fields.set('kind', 'string');
  }
  // Fields sit four spaces in. A map type spans lines (`{`, `[key: string]: T;`, `};`), and so
  // does an inline object (`Array<{`, its fields, `}>;`): its own fields are not walked.
  for (const [, name, type] of (body[2] ?? '').matchAll(/^ {4}"([^"]+)"\??: ([^\n]*?(?:\{\n[\s\S]*?\n {4}\}>?)?);$/gm)) {
    if (name !== undefined && type !== undefined) fields.set(name, type.replace(/\s+/g, ' '));
  }
  const shape = { fields, imports };
  shapes.set(file, shape);
  return shape;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
