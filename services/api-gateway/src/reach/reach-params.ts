import { reachError } from '@reach/message-domain';
import { ApiError } from '../http/api-error';
import { UnparseableBody } from '../http/request-body';
import { reachApiError } from './reach-error.filter';

/**
 * A Reach call's parameters: the query string, overlaid by the body's (form-encoded or JSON
 * object) parameters, so `messageId` may travel in either on a POST. A body that is not an
 * object is 10002; a malformed JSON body 10002 (400); a content type we do not read 415 (10002).
 */
export function reachParams(query: unknown, body: unknown): Readonly<Record<string, unknown>> {
  if (body instanceof UnparseableBody) {
    if (body.reason === 'malformed_json') throw reachApiError(reachError('missingRequestData', 'The request body is not valid JSON'));
    throw new ApiError(
      415,
      'unsupported_media_type',
      `Content-Type ${body.contentType} is not supported; send application/x-www-form-urlencoded or application/json`,
      null,
      10002,
    );
  }
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw reachApiError(reachError('missingRequestData', 'The request body must be form parameters or a JSON object'));
  }
  return { ...asObject(query), ...asObject(body) };
}

function asObject(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}
