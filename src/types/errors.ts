/**
 * The errors now live at the bottom of the layers (src/errors/), so codec can use them;
 * this path stays for the many modules (and other branches) that import it from here.
 */
export { ArchiError, ERROR_STATUS, type ErrorCode, isErrorCode } from '../errors/index.ts';
