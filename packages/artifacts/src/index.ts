export * from './artifact-store';
export * from './local-artifact-store';
export * from './read-artifact';
export * from './s3-artifact-store';
export * from './artifact-store-config';
export * from './local-blob-file';
export * from './folder-files';
