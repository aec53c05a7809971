/**
 * The gateway's signed request/response envelope for SDK users (docs/GATEWAY.md). The code
 * lives in src/types/ so that the gateway server, which may not import the SDK, shares it.
 */
export {
  checkRequest,
  DEFAULT_MAX_SKEW_MS,
  GW_ID_RE,
  GW_LIMITS,
  GW_REQUEST_PREFIX,
  GW_RESPONSE_PREFIX,
  type JsonObject,
  parseRequest,
  parseResponse,
  REQ_ID_RE,
  type RequestEnvelope,
  type RequestHeader,
  requestBytes,
  type ResponseEnvelope,
  type ResponseFields,
  type ResponseHeader,
  responseBytes,
  signRequest,
  signResponse,
  type TimeWindow,
  type VerifyKey,
  verifyRequest,
  verifyResponse,
} from '../types/gateway-envelope.ts';
