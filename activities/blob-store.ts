/** The activities' view of the blob store (shared/blobs/): content-addressed text over any backend. */
export { BlobStore } from '../shared/blobs/blob-store';
