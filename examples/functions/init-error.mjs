// A module that throws while loading: the sandbox reports /init/error and the invocation fails to start.

throw new Error('missing configuration: DATABASE_URL');
