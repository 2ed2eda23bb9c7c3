// Cancellation lives with the ORT machinery (packages/onnx) so evaluation can use it without depending on techniques.
export { CanceledError, throwIfCanceled } from '@distillery/onnx';
