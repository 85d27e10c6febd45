// A handler that fails: the invocation's error result names the error class (errorType "ValidationError").

class ValidationError extends Error {
  name = 'ValidationError';
}

export const handler = async () => {
  throw new ValidationError('quantity must be positive');
};
