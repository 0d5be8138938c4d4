/** Runs a job to its end through the client API, as most end-to-end tests do. */
import { getResult, startJob } from '../../client/api';
import { ResultDocumentSchema, type JobInputArg, type ResultDocument } from '../../shared/schemas';
import type { TestStack } from './stack';

/** Starts `input`, waits for its result document and checks the document against its schema. */
export async function runToDocument(stack: TestStack, input: JobInputArg): Promise<ResultDocument> {
  const id = await startJob(stack.rc, input);
  const doc = await getResult(stack.rc, id);
  expect(ResultDocumentSchema.parse(doc)).toEqual(doc);
  return doc;
}
