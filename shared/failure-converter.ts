/**
 * The failure converter of a worker and client with encryption on (`failureConverterPath`, also
 * bundled into the workflow code): a failure's message and stack trace go into its encoded
 * attributes, a payload that the codec chain encrypts like any other, since a message can quote job
 * text or model output. The history then shows only "Encoded failure"; renga's client and the Web UI
 * (through the codec server) decode them. Sandbox-safe: it runs in the workflow sandbox too.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
